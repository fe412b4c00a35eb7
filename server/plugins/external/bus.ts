// The real-time bus: Redis sharded pub/sub when the configuration names a Redis, in-process otherwise;
// closed with the app.
import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { type Bus, createMemoryBus } from '../../realtime/bus.js'
import { createRedisBus } from '../../realtime/redis-bus.js'

const BUS_START_WAIT_MS = 2_000

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
    // Subscriptions opened before the bus is up read DynamoDB again when it comes up: on a start
    // (or a restart that brings thousands back at once) it usually is up within milliseconds.
    await bus.up(BUS_START_WAIT_MS)
    app.decorate('bus', bus)
  },
  { name: 'bus', dependencies: ['metrics'] },
)
