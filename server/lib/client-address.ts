// Whose request it is, for the per-address rate limit: the peer's address, or behind a load balancer
// (TRUST_PROXY_HOPS > 0) the one X-Forwarded-For names that many hops back. Fastify reads `req.ip` with
// `trustProxy`; the front door (front-door.ts) reads it outside Fastify with the same trust, through
// the same library (proxy-addr, Fastify's own), so both count a client under one key.
import type { IncomingMessage } from 'node:http'
import proxyAddr from 'proxy-addr'

/** Trust the nearest `hops` proxies, as Fastify's `trustProxy` option takes it; undefined for none. */
export function trustedProxies(hops: number): ((address: string, hop: number) => boolean) | undefined {
  return hops > 0 ? (_address, hop) => hop < hops : undefined
}

/** The client address of a raw request; `perConnection` when it is the socket's own, the same for every request on a connection. */
export type AddressOf = ((req: IncomingMessage) => string | undefined) & { readonly perConnection: boolean }

/** The client address of a raw request, as Fastify's `req.ip` reads it with the same trust. */
export function clientAddress(hops: number): AddressOf {
  const trust = trustedProxies(hops)
  return trust
    ? Object.assign((req: IncomingMessage) => proxyAddr(req, trust), { perConnection: false })
    : Object.assign((req: IncomingMessage) => req.socket.remoteAddress, { perConnection: true })
}
