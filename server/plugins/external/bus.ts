// The real-time bus: Redis sharded pub/sub when the configuration names a Redis, in-process otherwise;
// closed with the app.
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { type Bus, createMemoryBus } from '../../realtime/bus.js'
import { createRedisBus } from '../../realtime/redis-bus.js'

declare module 'fastify' {
  interface FastifyInstance {
    bus: Bus
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const { redis } = config
    const bus =
      redis.kind === 'single' || redis.kind === 'cluster'
        ? createRedisBus({ redis, commandTimeoutMs: config.redisCommandTimeoutMs, log: app.log, metrics: app.metrics })
        : createMemoryBus()
    app.addHook('onClose', () => bus.close())
    app.decorate('bus', bus)
  },
  { name: 'bus', dependencies: ['metrics'] },
)
