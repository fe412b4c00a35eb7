// Liveness and readiness.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import type { FastifyInstance } from 'fastify'

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())])

async function check(probe: () => Promise<unknown>): Promise<'up' | 'down'> {
  try {
    await within(2000, probe())
    return 'up'
  } catch {
    return 'down'
  }
}

// A callback plugin: it registers routes and awaits nothing.
export default function healthRoutes(app: FastifyInstance, { table }: { table: string }, done: (err?: Error) => void): void {
  const { sql, ddb } = app.backends
  app.get('/health', () => ({ status: 'ok' }))
  app.get('/ready', async (_req, reply) => {
    const [postgres, dynamodb] = await Promise.all([
      check(() => sql`select 1`),
      check(() => ddb.send(new DescribeTableCommand({ TableName: table }))),
    ])
    const ready = postgres === 'up' && dynamodb === 'up'
    // The cache never decides readiness: without Redis every read still answers from DynamoDB.
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, dynamodb, cache: app.cache.status() })
  })
  done()
}
