// The API under /trpc: tRPC's own Fastify request handler behind one catch-all route, preceded by the
// GET fast path for cache hits. Every failure in this scope is answered by trpc/errors.ts.
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify'
import type { FastifyInstance } from 'fastify'
import { contextFactory } from '../trpc/context.js'
import { answerFastifyErrors, errorCounter } from '../trpc/errors.js'
import { fastPath } from '../trpc/fast-path.js'
import { ssePath } from '../trpc/sse-path.js'
import { appRouter } from '../trpc/router.js'

const PROCEDURES: ReadonlySet<string> = new Set(Object.keys(appRouter._def.procedures))

export default function trpcRoutes(
  trpc: FastifyInstance,
  options: { fastPath?: boolean | undefined; ssePath?: boolean | undefined },
  done: (err?: Error) => void,
): void {
  const { verifier, reads, conversations, realtime } = trpc.services
  const metrics = trpc.metrics
  const createContext = contextFactory({ verifier, reads, conversations, realtime, metrics })
  const countError = errorCounter(metrics, PROCEDURES)

  // As @trpc/server's Fastify plugin does: tRPC parses the raw body itself.
  trpc.removeAllContentTypeParsers()
  trpc.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body))

  const tryFastPath = options.fastPath === false ? undefined : fastPath({ verifier, reads, metrics })
  const trySse = options.ssePath === false ? undefined : ssePath({ verifier, reads, conversations, realtime, metrics, countError })
  trpc.all<{ Params: { path: string } }>('/:path', async (req, reply) => {
    if (tryFastPath && (await tryFastPath(req, reply))) return reply
    if (trySse && (await trySse(req, reply))) return reply
    await fastifyRequestHandler({
      router: appRouter,
      createContext: ({ req, info }) => createContext({ req, info }),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') req.log.error({ err: error.cause ?? error, path }, 'procedure failed')
        countError(path, error.code)
      },
      req,
      res: reply,
      path: req.params.path,
    })
    return reply
  })

  answerFastifyErrors(trpc, countError)
  done()
}
