// The read cache the configuration names (Redis, a cluster, in-process or off), closed with the app.
import fp from 'fastify-plugin'
import type { CacheBackend } from '../../cache/cache-backend.js'
import { createCache } from '../../cache/create-cache.js'
import type { Config } from '../../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    cache: CacheBackend
  }
}

export interface CacheOptions {
  config: Config
  /** Wraps the backend (tests slow or count it). */
  wrapCache?: ((cache: CacheBackend) => CacheBackend) | undefined
}

export default fp<CacheOptions>(
  (app, { config, wrapCache }, done) => {
    const created = createCache(config, { log: app.log, metrics: app.metrics })
    app.addHook('onClose', () => created.close())
    app.decorate('cache', wrapCache ? wrapCache(created) : created)
    done()
  },
  { name: 'cache', dependencies: ['metrics'] },
)
