// tRPC for Cruddur Messages, in the shape of create-t3-app's server/api/trpc.ts:
// 1. initialization (the context type, the error formatter), 2. procedures.
import { initTRPC } from '@trpc/server'
import type { Context } from './context.js'
import { asTRPCError, formatError } from './errors.js'

// 1. INITIALIZATION
/** Subscriptions' keep-alive: proxies see traffic on idle streams; a client that hears nothing for
 * three pings' time reconnects (and resumes from its last event). */
export const SSE_PING_MS = 10_000
/** What a stream tells its client when it opens (tRPC's `connected` event). */
export const SSE_CLIENT = { reconnectAfterInactivityMs: 3 * SSE_PING_MS }

const t = initTRPC.context<Context>().create({
  errorFormatter: formatError,
  sse: { ping: { enabled: true, intervalMs: SSE_PING_MS }, client: SSE_CLIENT },
})

export const router = t.router
export const createCallerFactory = t.createCallerFactory

// 2. PROCEDURES
/** Refusals of the domain become their tRPC codes; anything unexpected stays a generic 500. */
const refusals = t.middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok) throw asTRPCError(result.error)
  return result
})

/** Per-procedure latency, and the count of calls that succeed (failures are counted where they are answered). */
const observe = t.middleware(async ({ ctx, path, next }) => {
  const started = performance.now()
  const result = await next()
  ctx.metrics.observeCall(path, result.ok ? 'OK' : undefined, (performance.now() - started) / 1000)
  return result
})

export const publicProcedure = t.procedure.use(observe).use(refusals)

/** Every procedure of the API: the caller is known, or the answer is UNAUTHORIZED. */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await ctx.authenticate()
  return next({ ctx: { user } })
})
