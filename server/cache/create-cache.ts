// The cache the configuration asks for: Redis (one node or a cluster), or in-process.
import type { Config } from '../config.js'
import type { Metrics } from '../metrics.js'
import type { CacheBackend } from './cache-backend.js'
import { createMemoryCache } from './memory-cache.js'
import { type CacheLog, createRedisCache } from './redis-cache.js'
import { createRedisClient } from './redis-client.js'

/** CACHE_MODE=off: every lookup says "unusable", so every read goes to the source. */
const noCache: CacheBackend = {
  kind: 'off',
  lookup: () => Promise.resolve(null),
  hitBytes: () => undefined,
  acquire: () => Promise.resolve(null),
  fill: () => Promise.resolve(false),
  release: async () => {},
  invalidate: async () => {},
  status: () => 'off',
  close: async () => {},
}

export function createCache(
  config: Pick<Config, 'redis' | 'redisCommandTimeoutMs' | 'cacheTtlSeconds' | 'cacheKeyPrefix'>,
  deps: { log: CacheLog; metrics: Metrics },
): CacheBackend {
  if (config.redis.kind === 'off') return noCache
  const client = createRedisClient(config)
  if (!client) return createMemoryCache({ ttlSeconds: config.cacheTtlSeconds })
  return createRedisCache({ client, prefix: config.cacheKeyPrefix, ttlSeconds: config.cacheTtlSeconds, ...deps })
}
