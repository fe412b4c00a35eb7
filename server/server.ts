// A server of the app: the Fastify instance with its limits and logger, and how it starts and stops.
// main.ts runs one; tests run several, on their own services and ports.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import app, { type AppOptions } from './app.js'
import type { Config } from './config.js'

export interface ServerOptions extends Omit<AppOptions, 'config'> {
  /** pino options or false; by default the configured level to stdout. */
  logger?: FastifyServerOptions['logger']
}

export interface Server {
  app: FastifyInstance
  /** Listens on the configured host and port (PORT=0: any free port); resolves to the base URL. */
  start(): Promise<string>
  /** Stops accepting, lets requests already received finish, then closes every resource. */
  stop(): Promise<void>
}

/**
 * Request log lines without credentials: a subscription's token travels in its URL (tRPC's
 * `connectionParams`, as browsers' EventSource cannot send headers), and Authorization is never logged.
 */
export function requestLogLine(req: { method: string; url: string; ip?: string; socket?: { remotePort?: number } | null }) {
  return { method: req.method, url: withoutCredentials(req.url), remoteAddress: req.ip, remotePort: req.socket?.remotePort }
}

function withoutCredentials(url: string): string {
  if (!url.includes('connectionParams=')) return url
  const [path, query = ''] = url.split('?', 2) as [string, string?]
  const params = new URLSearchParams(query)
  params.set('connectionParams', '[redacted]')
  return `${path}?${params.toString()}`
}

/** The logger: as asked (tests pass a stream), always with the request serializer above. */
function loggerOf(config: Config, logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false) return false
  const base = logger === undefined || logger === true ? { level: config.logLevel } : logger
  return { ...base, serializers: { ...base.serializers, req: requestLogLine } }
}

/** Enough for a batch of well over 20 procedure names in the one route parameter. */
const MAX_PARAM_LENGTH = 5000

/** Builds the server and opens its resources (stores ready, cache connecting); nothing listens yet. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const { logger, ...appOptions } = options
  const fastify = Fastify({
    logger: loggerOf(config, logger),
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Opening embedded stores (PGlite starts in ~6 s) and seeding them takes longer than Fastify's 10 s default.
    pluginTimeout: 120_000,
  })
  // Not encapsulated (as fastify/demo registers its app): the app's decorators live on the root.
  await fastify.register(fp(app), { config, ...appOptions })
  try {
    await fastify.ready()
  } catch (err) {
    await fastify.close().catch(() => {})
    throw err
  }
  return {
    app: fastify,
    async start() {
      await fastify.listen({ port: config.port, host: config.host })
      const address = fastify.server.address()
      const port = typeof address === 'object' && address ? address.port : config.port
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
    },
    async stop() {
      // Node closes keep-alive connections that are idle when closing starts; the ones busy then
      // become idle when they answer, so sweep until done.
      const sweep = setInterval(() => fastify.server.closeIdleConnections(), 50)
      try {
        await fastify.close()
      } finally {
        clearInterval(sweep)
      }
    },
  }
}
