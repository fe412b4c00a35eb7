// A server of the app: the Fastify instance with its limits and logger, and how it starts and stops.
// main.ts runs one; tests run several, on their own services and ports.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import app, { type AppOptions } from './app.js'
import { trustedProxies } from './lib/client-address.js'
import { frontDoorServer } from './lib/front-door.js'
import { lazyChildLogger } from './lib/lazy-child-logger.js'
import { memoQuerystringParser } from './lib/querystring-memo.js'
import type { Config } from './config.js'
import { fromHttpError, rawErrorResponse } from './trpc/errors.js'

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

const INFO = 30
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: INFO, warn: 40, error: 50, fatal: 60, silent: Infinity }

/** Whether a logger with these options writes info lines (request logs). */
export function logsRequests(options: FastifyServerOptions['logger']): boolean {
  if (!options) return false
  if (options === true) return true
  const level = (options as { level?: string }).level ?? 'info'
  return (LEVELS[level] ?? INFO) <= INFO
}

/** Enough for a batch of well over 20 procedure names in the one route parameter. */
const MAX_PARAM_LENGTH = 5000

/** Builds the server and opens its resources (stores ready, cache connecting); nothing listens yet. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const { logger, ...appOptions } = options
  const { timeouts } = config
  let closing = false
  const loggerOptions = loggerOf(config, logger)
  const requestLogging = logsRequests(loggerOptions)
  const { serverFactory, frontDoor } = frontDoorServer()
  const fastify = Fastify({
    logger: loggerOptions,
    // Fastify's "incoming request" and "request completed" lines are info: below that level it would
    // still build them for every request (about 2 µs of a 50 µs cache hit), to be dropped.
    logController: new LogController({ disableRequestLogging: !requestLogging }),
    // The node:http server Fastify would make, with a door in front for the API's cache hits.
    serverFactory,
    childLoggerFactory: lazyChildLogger,
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, querystringParser: memoQuerystringParser() },
    // Opening embedded stores (PGlite starts in ~6 s) and seeding them takes longer than Fastify's 10 s default.
    pluginTimeout: 120_000,
    // Slow clients: headers must arrive within headersMs and the whole request (body included) within
    // requestMs, or the connection is answered 408 and closed; an idle keep-alive connection is closed
    // after keepAliveMs (above the 60 s of common load balancers, so they close first). A response being
    // written is under none of these: a subscription's stream lives as long as its client reads.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      headersTimeout: timeouts.headersMs,
      // Node checks the two deadlines above this often; a tenth of the shorter one keeps them honest.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(Math.min(timeouts.headersMs, timeouts.requestMs) / 10))),
    },
    // Connection-level refusals (a timeout, headers too large) in tRPC's error shape.
    clientErrorHandler(err: NodeJS.ErrnoException, socket) {
      if (err.code === 'ECONNRESET' || socket.destroyed) return
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
      if (socket.writable) socket.write(rawErrorResponse(status))
      socket.destroy(err)
    },
    // Paths the router cannot take (too long, malformed) in tRPC's shape, never echoing the path.
    frameworkErrors(error, _req, reply) {
      const { httpStatus, body } = fromHttpError(error.statusCode, error.statusCode === 414 ? 'Request path too long' : 'Bad request')
      void (reply as FastifyReply).code(httpStatus).type('application/json').header('cache-control', 'no-store').send(body)
    },
    // Behind a load balancer the client address (rate limited per address) is X-Forwarded-For's.
    ...(config.trustProxyHops > 0 ? { trustProxy: trustedProxies(config.trustProxyHops) } : {}),
    // During shutdown, requests on connections still open are answered below, in tRPC's shape.
    return503OnClosing: false,
  })
  // A callback hook: every request passes it, and it almost never has anything to do.
  fastify.addHook('onRequest', (_req, reply, done) => {
    if (!closing) {
      done()
      return
    }
    const { httpStatus, body } = fromHttpError(503, 'shutting down')
    void reply.code(httpStatus).header('retry-after', '1').header('connection', 'close').type('application/json').send(body)
  })
  // Where requests are logged, every one goes through Fastify, which logs them.
  fastify.decorate('frontDoor', requestLogging ? null : frontDoor)
  fastify.addHook('preClose', () => {
    closing = true
    frontDoor.shut()
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
      const sweep = setInterval(() => { fastify.server.closeIdleConnections(); }, 50)
      try {
        await fastify.close()
      } finally {
        clearInterval(sweep)
      }
    },
  }
}
