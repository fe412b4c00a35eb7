// Rate limits: per client address before the token is looked at, and per user after. Reads (and the
// address limit) are counted per instance, in process, synchronously (window counters): a cache-hit
// read must not gain a Redis round trip, nor a promise. Writes and subscription starts, on
// @fastify/rate-limit's counters, cost DynamoDB and hold for
// minutes, so they are counted in Redis and hold across instances; when Redis fails they are not
// counted (skipOnError: a limit never fails a request), and without Redis they are counted in process.
import type { FastifyRequest } from 'fastify'
import { ServiceError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { type CallKind, kindOf } from './calls.js'
import { windowCounter } from './window-counter.js'

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
  address(req: FastifyRequest): void
  /**
   * Refuses a user over the limit of one of their calls' kinds; every call of a batch counts. Reads
   * are decided at once (undefined); a write or subscription start returns the promise of its count.
   */
  user(req: FastifyRequest, sub: string, calls: readonly string[]): Promise<void> | undefined
  /**
   * For a request answered outside Fastify (server/trpc/hit-door.ts): counts it for `address` and its
   * `reads` read calls for `sub` if both stay within their limits, as `address` and `user` would;
   * else counts nothing and returns false, and the request goes to Fastify, which counts and refuses.
   */
  admit(address: string, sub: string, reads: number): boolean
  /** Uncounts an admitted request that goes to Fastify after all (which counts it in its turn). */
  giveBack(address: string, sub: string, reads: number): void
  close(): void
}

export type Scope = 'address' | CallKind

export function createRateLimits(deps: {
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
  // Every request passes these two: a Map lookup each, synchronous (server/limits/window-counter.ts).
  const address = windowCounter({ max: settings.addressPerMinute, windowMs: minute })
  const reads = windowCounter({ max: settings.readsPerMinute, windowMs: minute })
  const shared: Record<'write' | 'subscription', Check> = {
    write: deps.shared({ max: settings.writesPerMinute, timeWindow: minute, keyGenerator: userKey('w') }),
    subscription: deps.shared({ max: settings.subscriptionsPerMinute, timeWindow: minute, keyGenerator: userKey('s') }),
  }

  function refuse(scope: Scope, retryAfterSeconds: number): never {
    metrics.rateLimited.inc({ scope })
    throw new ServiceError('TOO_MANY_REQUESTS', 'too many requests, slow down', { retryAfterSeconds: Math.max(1, retryAfterSeconds) })
  }

  return {
    address(req) {
      const wait = address.hit(req.ip)
      if (wait > 0) refuse('address', wait)
    },
    user(req, sub, calls) {
      let others: ('write' | 'subscription')[] | undefined
      for (const call of calls) {
        const kind = kindOf(call)
        if (kind !== 'read') (others ??= []).push(kind)
        else {
          const wait = reads.hit(sub)
          if (wait > 0) refuse('read', wait)
        }
      }
      if (!others) return undefined
      keys.set(req, sub)
      const counted = others
      return (async () => {
        for (const kind of counted) {
          const result = await shared[kind](req)
          if (!result.isAllowed && result.isExceeded === true) refuse(kind, result.ttlInSeconds ?? 1)
        }
      })()
    },
    admit(ip, sub, n) {
      if (!address.take(ip, 1)) return false
      if (reads.take(sub, n)) return true
      address.giveBack(ip, 1)
      return false
    },
    giveBack(ip, sub, n) {
      address.giveBack(ip, 1)
      reads.giveBack(sub, n)
    },
    close() {
      address.close()
      reads.close()
    },
  }
}
