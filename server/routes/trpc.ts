// The API under /trpc: tRPC's own Fastify request handler behind one catch-all route, preceded by the
// GET fast path for cache hits and the SSE path for subscriptions. Before any of them: the answers'
// security headers, CORS for configured origins, overload (503), the per-address rate limit, the
// batch cap and the per-user rate limits. Every failure in this scope is answered by trpc/errors.ts.
import cors from '@fastify/cors'
import underPressurePlugin from '@fastify/under-pressure'
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenVerifier } from '../auth/verifier.js'
import type { Config } from '../config.js'
import { clientAddress } from '../lib/client-address.js'
import { ServiceError } from '../errors.js'
import { callsOf } from '../limits/calls.js'
import { contextFactory } from '../trpc/context.js'
import { answerFastifyErrors, errorCounter, knowProcedures, retryAfterHeader } from '../trpc/errors.js'
import { fastPath } from '../trpc/fast-path.js'
import { hitDoor } from '../trpc/hit-door.js'
import { API_HEADERS } from '../trpc/headers.js'
import { ssePath } from '../trpc/sse-path.js'
import { appRouter } from '../trpc/router.js'

/** Seconds an overloaded instance tells clients to wait. */
const OVERLOAD_RETRY_AFTER_SECONDS = 5

type TrpcRequest = FastifyRequest<{ Params: { path: string } }>

const PROCEDURES: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures))

export interface TrpcRoutesOptions {
  config: Config
  fastPath?: boolean | undefined
  ssePath?: boolean | undefined
}

/** The bearer token of a request: its Authorization header, or a subscription's connectionParams. */
function tokenOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (typeof header === 'string') {
    // The usual spelling without a regular expression: this runs on every request.
    if (header.startsWith('Bearer ') && header.length > 7 && header.indexOf(' ', 7) === -1) return header.slice(7)
    return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  }
  const params = (req.query as { connectionParams?: unknown } | undefined)?.connectionParams
  if (typeof params !== 'string') return undefined
  try {
    const token = (JSON.parse(params) as { token?: unknown } | null)?.token
    return typeof token === 'string' ? token : undefined
  } catch {
    return undefined
  }
}

/** Whose calls these are, for the per-user limits; undefined (not limited here) when the token is no good: it is refused later. */
function subOf(verifier: AccessTokenVerifier, req: FastifyRequest): Promise<string | undefined> | string | undefined {
  const token = tokenOf(req)
  if (!token) return undefined
  // A token seen moments ago is known without waiting: cache hits take no promise here.
  const known = verifier.known?.(token)
  if (known) return known.sub
  return verifier.verify(token).then(
    (v) => v.sub,
    () => undefined,
  )
}

export default async function trpcRoutes(trpc: FastifyInstance, options: TrpcRoutesOptions): Promise<void> {
  const { config } = options
  const { verifier, reads, conversations, realtime } = trpc.services
  const { metrics, rateLimits } = trpc
  const createContext = contextFactory({ verifier, reads, conversations, realtime, metrics })
  const countError = errorCounter(metrics, PROCEDURES)
  knowProcedures(PROCEDURES)
  answerFastifyErrors(trpc, countError)

  // As @trpc/server's Fastify plugin does: tRPC parses the raw body itself.
  trpc.removeAllContentTypeParsers()
  trpc.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => { done(null, body) })

  // Overload: past the event loop delay (or heap) limit, calls answer 503 with Retry-After at once
  // rather than queueing behind the work already late. Health and metrics stay outside this scope.
  // @fastify/under-pressure samples both; it is registered in a scope of its own without routes, so
  // its check runs in a hook of ours below, without the options object its own hook builds per request.
  let underPressure = (): boolean => false
  await trpc.register(async (sampler) => {
    await sampler.register(underPressurePlugin, {
      maxEventLoopDelay: config.pressure.maxEventLoopDelayMs,
      ...(config.pressure.maxHeapUsedBytes ? { maxHeapUsedBytes: config.pressure.maxHeapUsedBytes } : {}),
    })
    underPressure = () => sampler.isUnderPressure()
  })

  // A callback hook, not an async one: it runs on every request, cache hits included.
  trpc.addHook('onRequest', (req, reply, done) => {
    void reply.header('cache-control', API_HEADERS['cache-control']).header('x-content-type-options', API_HEADERS['x-content-type-options'])
    try {
      rateLimits.address(req)
    } catch (err) {
      done(err as Error)
      return
    }
    done()
  })
  if (config.corsOrigins.length > 0) {
    await trpc.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'last-event-id'],
      maxAge: 600,
    })
  }
  // After CORS, so that a browser can read the refusal.
  trpc.addHook('onRequest', (_req, _reply, done) => {
    if (underPressure()) done(new ServiceError('SERVICE_UNAVAILABLE', 'Service Unavailable', { retryAfterSeconds: OVERLOAD_RETRY_AFTER_SECONDS }))
    else done()
  })

  const fast = options.fastPath === false ? undefined : fastPath({ reads, metrics })
  const tryFastPath = fast?.tryFastPath
  // Cache hits answered before Fastify routes them, where the server has a front door (server.ts).
  const frontDoor = trpc.hasDecorator('frontDoor') ? trpc.frontDoor : null
  if (fast && frontDoor) {
    frontDoor.open(
      hitDoor({
        prefix: `${trpc.prefix}/`,
        fast,
        verifier,
        limits: rateLimits,
        overloaded: () => underPressure(),
        addressOf: clientAddress(config.trustProxyHops),
        maxBatchSize: config.maxBatchSize,
      }),
    )
  }
  const trySse = options.ssePath === false ? undefined : ssePath({ verifier, reads, conversations, realtime, metrics, countError })

  /** Subscriptions (SSE path), then tRPC's own handler: whatever the fast path did not answer. */
  async function adapter(req: TrpcRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (trySse && (await trySse(req, reply))) return reply
    await fastifyRequestHandler({
      router: appRouter,
      createContext: ({ req, info }) => createContext({ req, info }),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') req.log.error({ err: error.cause ?? error, path }, 'procedure failed')
        countError(path, error.code)
      },
      maxBatchSize: config.maxBatchSize,
      responseMeta: retryAfterHeader,
      req,
      res: reply,
      path: req.params.path,
    })
    return reply
  }

  /**
   * The answer once the caller's calls are counted. `owned`: called from the handler itself, which may
   * then return nothing: a cache hit (the fast path) sends its answer from the Redis reply's callback,
   * with no promise of the handler's for Fastify to wait on. Else a promise of the sent reply.
   */
  function answer(req: TrpcRequest, reply: FastifyReply, sub: string | undefined, owned: boolean): Promise<FastifyReply> | undefined {
    const answered = tryFastPath?.(req, reply, sub)
    if (answered === undefined || answered === false) return adapter(req, reply)
    if (!owned) return answered.then((ok) => (ok ? reply : adapter(req, reply)))
    answered.then(
      (ok) => {
        // Not a hit after all: the adapter answers (its errors through Fastify's error handler, as a handler's would be).
        if (!ok) adapter(req, reply).catch((err: unknown) => reply.send(err))
      },
      (err: unknown) => reply.send(err),
    )
    return undefined
  }

  /** Counts the caller's calls (reads at once, writes and subscription starts in Redis), then answers. */
  function counted(req: TrpcRequest, reply: FastifyReply, calls: string[], sub: string | undefined, owned: boolean): Promise<FastifyReply> | undefined {
    const counting = sub === undefined ? undefined : rateLimits.user(req, sub, calls)
    if (counting) return counting.then(() => answer(req, reply, sub, false)!)
    return answer(req, reply, sub, owned)
  }

  trpc.route<{ Params: { path: string } }>({
    method: ['GET', 'POST'],
    url: '/:path',
    exposeHeadRoute: false,
    // Not an async function: a cache hit by a caller known moments ago runs synchronously up to its
    // Redis command, and its answer is sent from that command's callback (see `answer`).
    handler(req, reply) {
      const calls = callsOf(req.params.path, req.query)
      // Refused before any call runs: a batch's calls are work the client queued at once.
      if (calls.length > config.maxBatchSize) {
        throw new ServiceError('BAD_REQUEST', `a batch carries at most ${String(config.maxBatchSize)} calls`)
      }
      const sub = subOf(verifier, req)
      if (typeof sub === 'object') return sub.then((verified) => counted(req, reply, calls, verified, false)!)
      return counted(req, reply, calls, sub, true)
    },
  })
  // Other methods are refused before their body is read (a PUT without a content type is no 415).
  trpc.route({
    method: ['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'],
    url: '/:path',
    onRequest: async (_req, reply) => {
      void reply.header('allow', 'GET, POST')
      throw Object.assign(new Error('method not allowed'), { statusCode: 405 })
    },
    handler: () => undefined,
  })
}
