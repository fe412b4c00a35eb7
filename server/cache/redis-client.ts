// ioredis clients that write each event-loop turn's commands at once (tick-writes.ts) and fail fast:
// no offline queue, a per-command deadline (command-deadlines.ts, in place of ioredis's
// commandTimeout), no retries of a request. A slow or absent Redis must cost a request milliseconds,
// never an error.
import { Cluster, Redis } from 'ioredis'
import type { Config } from '../config.js'
import { keepCommandDeadlines } from './command-deadlines.js'
import { writeOncePerTurn } from './tick-writes.js'

export type RedisClient = Redis | Cluster

export function createRedisClient(config: Pick<Config, 'redis' | 'redisCommandTimeoutMs'>): RedisClient | null {
  const common = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
  }
  const backoff = (times: number) => Math.min(times * 100, 2000)
  let client: RedisClient
  switch (config.redis.kind) {
    case 'single':
      client = new Redis(config.redis.url, { ...common, retryStrategy: backoff })
      break
    case 'cluster':
      client = new Cluster(config.redis.nodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: backoff,
        slotsRefreshTimeout: 2000,
        redisOptions: common,
      })
      break
    case 'memory':
    case 'off':
      return null
  }
  writeOncePerTurn(client) // one round trip for the commands of one turn
  keepCommandDeadlines(client, config.redisCommandTimeoutMs)
  return client
}
