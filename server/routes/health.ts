// Liveness and readiness.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { FastifyInstance } from 'fastify'
import type { Sql } from '../data/postgres.js'
import type { CacheStatus } from '../cache/cache-backend.js'

export interface HealthDeps {
  sql: Sql
  ddb: DynamoDBDocumentClient
  table: string
  cacheStatus: () => CacheStatus
}

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

export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/health', async () => ({ status: 'ok' }))
  app.get('/ready', async (_req, reply) => {
    const [postgres, dynamodb] = await Promise.all([
      check(() => deps.sql`select 1`),
      check(() => deps.ddb.send(new DescribeTableCommand({ TableName: deps.table }))),
    ])
    const ready = postgres === 'up' && dynamodb === 'up'
    // The cache never decides readiness: without Redis every read still answers from DynamoDB.
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', postgres, dynamodb, cache: deps.cacheStatus() })
  })
}
