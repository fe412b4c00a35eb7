// The rate limits (server/limits/rate-limits.ts) on two registrations of @fastify/rate-limit: one
// counting in this process, one in Redis when the configuration names one (its own connection, which
// fails fast like the cache's: no offline queue, a short command timeout). Keys live under the
// cache's namespace (`<prefix>:v2:rl:`), each with its window as TTL.
import rateLimit, { type CreateRateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { FORMAT_VERSION } from '../../cache/cache-backend.js'
import { createRedisClient } from '../../cache/redis-client.js'
import { withDeadline } from '../../lib/deadline.js'
import type { Config } from '../../config.js'
import { type Check, createRateLimits, type RateLimits } from '../../limits/rate-limits.js'

declare module 'fastify' {
  interface FastifyInstance {
    rateLimits: RateLimits
  }
}

/** Keys remembered per in-process limiter (least recently used dropped first). */
const LOCAL_KEYS = 50_000

type Factory = (options: CreateRateLimitOptions) => Check

/** @fastify/rate-limit decorates once per scope: each store gets a scope of its own. */
async function limiterFactory(app: FastifyInstance, settings: Parameters<typeof rateLimit>[1]): Promise<Factory> {
  let factory: Factory | undefined
  await app.register(async (scope) => {
    await scope.register(rateLimit, { ...settings, global: false, skipOnError: true })
    factory = (options) => {
      const withCache: CreateRateLimitOptions = { ...options, skipOnError: true, ...{ cache: LOCAL_KEYS } }
      return scope.createRateLimit(withCache)
    }
  })
  if (!factory) throw new Error('rate limits not registered')
  return factory
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const local = await limiterFactory(app, {})
    const client = createRedisClient(config)
    let shared = local
    if (client) {
      client.on('error', () => {
        // Connection errors surface as failed counts, which skipOnError lets through.
      })
      app.addHook('onClose', async () => {
        await client.quit().catch(() => {
          client.disconnect()
        })
      })
      const redis = await limiterFactory(app, { redis: client, nameSpace: `${config.cacheKeyPrefix}:${FORMAT_VERSION}:rl:` })
      // A count in Redis takes well under a millisecond; one that takes longer than this lets the call
      // through (a limit never costs a write the cache's command timeout), and for a moment after it the
      // counting is done in process, as it is while Redis is not connected (down, restarting).
      const waitMs = Math.min(config.redisCommandTimeoutMs, 100)
      let inProcessUntil = 0
      shared = (options) => {
        const inRedis = redis(options)
        const inProcess = local(options)
        return (req) => {
          if (client.status !== 'ready' || Date.now() < inProcessUntil) return inProcess(req)
          return withDeadline('rate limit', waitMs, inRedis(req)).catch(() => {
            inProcessUntil = Date.now() + 1_000
            return { isAllowed: true }
          })
        }
      }
    }
    const limits = createRateLimits({ shared, settings: config.rateLimits, metrics: app.metrics })
    app.addHook('onClose', () => {
      limits.close()
    })
    app.decorate('rateLimits', limits)
  },
  { name: 'rate-limits', dependencies: ['metrics'] },
)
