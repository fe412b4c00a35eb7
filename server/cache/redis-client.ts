// ioredis clients that fail fast: no offline queue, a per-command timeout, no retries of a request.
// A slow or absent Redis must cost a request milliseconds, never an error.
import { Cluster, Redis } from 'ioredis'
import type { Config } from '../config.js'

export type RedisClient = Redis | Cluster

export function createRedisClient(config: Pick<Config, 'redis' | 'redisCommandTimeoutMs'>): RedisClient | null {
  const common = {
    enableOfflineQueue: false,
    enableAutoPipelining: true, // one round trip for the commands of one tick
    maxRetriesPerRequest: 0,
    commandTimeout: config.redisCommandTimeoutMs,
    connectTimeout: 2000,
  }
  const backoff = (times: number) => Math.min(times * 100, 2000)
  switch (config.redis.kind) {
    case 'single':
      return new Redis(config.redis.url, { ...common, retryStrategy: backoff })
    case 'cluster':
      return new Cluster(config.redis.nodes, {
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: backoff,
        slotsRefreshTimeout: 2000,
        redisOptions: common,
      })
    case 'memory':
    case 'off':
      return null
  }
}
