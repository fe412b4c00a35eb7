// The application, as a Fastify plugin in the shape of fastify/demo: external resources first (the
// stores, the cache), then the app's own services, then the routes. server.ts builds a Fastify
// instance around it; tests build it the same way on their own services and ports.
import type { FastifyInstance } from 'fastify'
import type { CacheBackend } from './cache/cache-backend.js'
import type { Config } from './config.js'
import metrics from './plugins/app/metrics.js'
import rateLimits from './plugins/app/rate-limits.js'
import services from './plugins/app/services.js'
import backends from './plugins/external/backends.js'
import bus from './plugins/external/bus.js'
import cache from './plugins/external/cache.js'
import devSignInRoutes, { devSignInEnabled } from './routes/dev-sign-in.js'
import healthRoutes from './routes/health.js'
import metricsRoutes from './routes/metrics.js'
import trpcRoutes from './routes/trpc.js'
import webRoutes from './routes/web.js'

export interface AppOptions {
  config: Config
  /** Publish embedded stores for commands run beside the server (npm start does). */
  shareEmbedded?: boolean
  /** Wraps the cache backend (tests slow or count it). */
  wrapCache?: (cache: CacheBackend) => CacheBackend
  /** Answer GET cache hits without the tRPC adapter's Fetch conversion (on by default). */
  fastPath?: boolean
  /** Serve subscriptions without the adapter's Fetch conversion (on by default). */
  ssePath?: boolean
  /** How long a reserved place waits for its message (server/data/message-writer.ts); tests shorten it. */
  writeWindowMs?: number
  /** The built web app to serve at / (default web/dist). */
  webRoot?: string
  /** The clock of the in-process memos (Date.now); tests move it on instead of waiting. */
  now?: () => number
}

export default async function app(fastify: FastifyInstance, options: AppOptions): Promise<void> {
  const { config } = options
  await fastify.register(metrics)
  await fastify.register(backends, { config, shareEmbedded: options.shareEmbedded ?? false })
  await fastify.register(cache, { config, wrapCache: options.wrapCache })
  await fastify.register(bus, { config })
  await fastify.register(services, { config, writeWindowMs: options.writeWindowMs, now: options.now })
  await fastify.register(rateLimits, { config })

  await fastify.register(healthRoutes, { table: config.table })
  await fastify.register(metricsRoutes, { config })
  await fastify.register(trpcRoutes, { prefix: '/trpc', config, fastPath: options.fastPath, ssePath: options.ssePath })
  // Development sign-in is never registered in production (and its plugin refuses to be).
  const devSignIn = devSignInEnabled(config)
  if (devSignIn) await fastify.register(devSignInRoutes, { config })
  await fastify.register(webRoutes, { config, devSignIn, ...(options.webRoot ? { root: options.webRoot } : {}) })
}
