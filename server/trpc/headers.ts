// The headers of the API's answers, one definition for the paths that send them: Fastify's (the API
// scope's hook, the fast path inside Fastify) and the front door's (hit-door.ts, outside Fastify).

/** Every answer of the API is per caller and JSON: never stored by a cache, never sniffed as HTML. */
export const API_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const

/**
 * A cache hit's own: JSON without a charset, as the adapter sends it (the body is bytes, so Fastify
 * adds none), and tRPC's Vary.
 */
export const HIT_HEADERS = { 'content-type': 'application/json', vary: 'trpc-accept, accept' } as const
