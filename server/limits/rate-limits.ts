// Rate limits, on @fastify/rate-limit's counters: per client address before the token is looked at,
// and per user after. Reads (and the address limit) are counted per instance, in process: a cache-hit
// read must not gain a Redis round trip. Writes and subscription starts cost DynamoDB and hold for
// minutes, so they are counted in Redis and hold across instances; when Redis fails they are not
// counted (skipOnError: a limit never fails a request), and without Redis they are counted in process.
import type { FastifyRequest } from 'fastify'
import { ServiceError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { CallKind } from './calls.js'

/** @fastify/rate-limit's programmatic check (`fastify.createRateLimit(options)`). */
export type Check = (req: FastifyRequest) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttlInSeconds?: number }>

export interface RateLimitSettings {
  readsPerMinute: number
  writesPerMinute: number
  addressPerMinute: number
  subscriptionsPerMinute: number
}

export interface RateLimits {
  /** Refuses (TOO_MANY_REQUESTS) a client address over its limit; any request counts once. */
  address(req: FastifyRequest): Promise<void>
  /** Refuses a user over the limit of one of their calls' kinds; every call of a batch counts. */
  user(req: FastifyRequest, sub: string, kinds: readonly CallKind[]): Promise<void>
}

export type Scope = 'address' | CallKind

export function createRateLimits(deps: {
  /** Counters of this process. */
  local: (options: { max: number; timeWindow: number; keyGenerator: (req: FastifyRequest) => string }) => Check
  /** Counters shared by every instance (Redis), or of this process without Redis. */
  shared: (options: { max: number; timeWindow: number; keyGenerator: (req: FastifyRequest) => string }) => Check
  settings: RateLimitSettings
  metrics: Metrics
}): RateLimits {
  const { settings, metrics } = deps
  const minute = 60_000
  // The key of a user's check is set per call (see `user`): the checks read it from the request.
  const keys = new WeakMap<FastifyRequest, string>()
  const userKey = (prefix: string) => (req: FastifyRequest) => `${prefix}:${keys.get(req) ?? ''}`
  const address = deps.local({ max: settings.addressPerMinute, timeWindow: minute, keyGenerator: (req) => `a:${req.ip}` })
  const byKind: Record<CallKind, Check> = {
    read: deps.local({ max: settings.readsPerMinute, timeWindow: minute, keyGenerator: userKey('r') }),
    write: deps.shared({ max: settings.writesPerMinute, timeWindow: minute, keyGenerator: userKey('w') }),
    subscription: deps.shared({ max: settings.subscriptionsPerMinute, timeWindow: minute, keyGenerator: userKey('s') }),
  }

  async function enforce(check: Check, req: FastifyRequest, scope: Scope): Promise<void> {
    const result = await check(req)
    if (result.isAllowed || !result.isExceeded) return
    metrics.rateLimited.inc({ scope })
    const retryAfterSeconds = Math.max(1, result.ttlInSeconds ?? 1)
    throw new ServiceError('TOO_MANY_REQUESTS', 'too many requests, slow down', { retryAfterSeconds })
  }

  return {
    address: (req) => enforce(address, req, 'address'),
    async user(req, sub, kinds) {
      keys.set(req, sub)
      for (const kind of kinds) await enforce(byKind[kind], req, kind)
    },
  }
}
