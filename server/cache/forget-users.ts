// For commands that change which Cognito sub belongs to which user: drop the cached sign-ins of the
// old subs in the shared Redis, so a token of a replaced sub stops mapping to its old user now
// rather than after CACHE_TTL_SECONDS. (Servers also remember a sub for up to 30 s in process.)
import type { Config } from '../config.js'
import { createMetrics } from '../metrics.js'
import { entities } from './cache-backend.js'
import { createCache } from './create-cache.js'

type CacheConfig = Pick<Config, 'redis' | 'redisCommandTimeoutMs' | 'cacheTtlSeconds' | 'cacheKeyPrefix'>

export async function forgetCachedSubs(config: CacheConfig, subs: string[]): Promise<'forgotten' | 'no shared cache' | 'unreachable'> {
  if (config.redis.kind === 'memory' || config.redis.kind === 'off') return 'no shared cache'
  if (subs.length === 0) return 'forgotten'
  const quiet = { warn() {}, info() {} }
  const cache = createCache(config, { log: quiet, metrics: createMetrics() })
  try {
    // The cache is usable once its connection is ready; give Redis a moment, no more.
    for (let i = 0; i < 40 && cache.status() !== 'up'; i++) await new Promise((r) => setTimeout(r, 50))
    if (cache.status() !== 'up') return 'unreachable'
    await cache.invalidate(subs.map(entities.userBySub))
    return cache.status() === 'up' ? 'forgotten' : 'unreachable'
  } finally {
    await cache.close()
  }
}
