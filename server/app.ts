// The application factory: every dependency comes in, so tests build the app on their own
// services, ports and tables. server/main.ts is the only entry that listens.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { AccessTokenVerifier } from './auth/verifier.js'
import type { Config } from './config.js'
import { createConversationsStore } from './data/conversations-store.js'
import type { Sql } from './data/postgres.js'
import { createUsersRepository } from './data/users-repository.js'
import { healthRoutes } from './routes/health.js'
import type { CacheBackend } from './cache/cache-backend.js'
import { cachedReads } from './cache/cached-reads.js'
import { createMemoryCache } from './cache/memory-cache.js'
import { createMetrics, type Metrics } from './metrics.js'
import { createConversationsService } from './services/conversations-service.js'
import { directReads } from './services/reads.js'
import { contextFactory } from './trpc/context.js'
import { fromHttpError } from './trpc/errors.js'
import { fastPath } from './trpc/fast-path.js'
import { countedErrors } from './trpc/init.js'
import { appRouter } from './trpc/router.js'

export interface AppDeps {
  config: Pick<Config, 'table' | 'bodyLimitBytes' | 'cacheTtlSeconds'>
  sql: Sql
  ddb: DynamoDBDocumentClient
  verifier: AccessTokenVerifier
  /** The read cache (or a factory given the app's logger); in-process when not given. The caller closes it. */
  cache?: CacheBackend | ((log: FastifyBaseLogger) => CacheBackend)
  metrics?: Metrics
  /** Answer GET queries without the tRPC adapter's Fetch conversion (on by default). */
  fastPath?: boolean
  logger?: FastifyServerOptions['logger']
}

const PROCEDURES = new Set(Object.keys(appRouter._def.procedures))

/** Enough for a batch of well over 20 procedure names in the one route parameter. */
const MAX_PARAM_LENGTH = 5000

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.config.bodyLimitBytes,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  })

  const store = createConversationsStore(deps.ddb, deps.config.table)
  const users = createUsersRepository(deps.sql)
  const metrics = deps.metrics ?? createMetrics()
  const cache =
    typeof deps.cache === 'function' ? deps.cache(app.log) : (deps.cache ?? createMemoryCache({ ttlSeconds: deps.config.cacheTtlSeconds }))
  if (!deps.cache) app.addHook('onClose', () => cache.close())
  const reads = cachedReads(directReads(users, store), cache, metrics)
  const conversations = createConversationsService({ reads, store, onMessagePosted: reads.messagePosted })
  const createContext = contextFactory({ verifier: deps.verifier, reads, conversations, metrics })

  healthRoutes(app, { sql: deps.sql, ddb: deps.ddb, table: deps.config.table, cacheStatus: () => cache.status() })
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))

  await app.register(
    async (trpc) => {
      // As @trpc/server's Fastify plugin does: tRPC parses the raw body itself.
      trpc.removeAllContentTypeParsers()
      trpc.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body))

      const tryFastPath = deps.fastPath === false ? undefined : fastPath({ verifier: deps.verifier, reads, metrics })
      trpc.all<{ Params: { path: string } }>('/:path', async (req, reply) => {
        if (tryFastPath && (await tryFastPath(req, reply))) return reply
        await fastifyRequestHandler({
          router: appRouter,
          createContext: ({ req }) => createContext({ req }),
          onError({ error, path }) {
            if (error.code === 'INTERNAL_SERVER_ERROR') req.log.error({ err: error.cause ?? error, path }, 'procedure failed')
            // Calls that failed before reaching a procedure (bad JSON, unknown path, wrong method).
            // Unknown paths share one label, so clients cannot grow the metric without bound.
            const procedure = path !== undefined && PROCEDURES.has(path) ? path : '(unknown)'
            if (!countedErrors.has(error)) metrics.requests.inc({ procedure, code: error.code })
          },
          req,
          res: reply,
          path: req.params.path,
        })
      })

      trpc.setErrorHandler<FastifyError>((err, req, reply) => {
        if ((err.statusCode ?? 500) >= 500) req.log.error({ err }, 'request failed')
        const { httpStatus, body } = fromHttpError(err.statusCode, err.message, (req.params as { path?: string }).path)
        return reply.code(httpStatus).send(body)
      })
      trpc.setNotFoundHandler((req, reply) => {
        const { httpStatus, body } = fromHttpError(404, `No procedure found on path "${req.url}"`)
        return reply.code(httpStatus).send(body)
      })
    },
    { prefix: '/trpc' },
  )
  return app
}
