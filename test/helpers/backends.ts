// Real backends for a test: a fresh PostgreSQL database on the machine's server, a dynalite of its
// own on a free port, and the table, all torn down when the test ends.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Test } from 'tap'
import { createTable } from '../../server/data/table.js'
import { seedUsers } from '../../server/data/seed.js'
import { type ConversationsStore, createConversationsStore } from '../../server/data/conversations-store.js'
import { createDynamo } from '../../server/data/dynamo.js'
import type { Sql } from '../../server/data/postgres.js'
import { createUsersRepository, type UsersRepository } from '../../server/data/users-repository.js'
import { startDynalite } from '../../server/embedded/dynalite.js'
import { testDatabase } from './databases.js'

export { ADMIN_DATABASE_URL } from './databases.js'
export const REGION = 'us-east-1'

export interface TestBackends {
  databaseUrl: string
  dynamoEndpoint: string
  table: string
  sql: Sql
  ddb: DynamoDBDocumentClient
  store: ConversationsStore
  users: UsersRepository
  /** Stops this test's dynalite now (to test an unreachable DynamoDB); teardown copes. */
  stopDynamo(): Promise<void>
}

/** A dynalite of the test's own, with the table created; `stop` ends it early. */
export async function testDynamo(
  t: Test,
  table = 'cruddur-messages',
): Promise<{ endpoint: string; ddb: DynamoDBDocumentClient; stop: () => Promise<void> }> {
  const server = await startDynalite()
  const raw = new DynamoDBClient({ region: REGION, endpoint: server.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })
  await createTable(raw, table)
  raw.destroy()
  const ddb = createDynamo({ aws: { region: REGION, dynamodbEndpoint: server.endpoint } })
  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= server.close())
  t.teardown(async () => {
    ddb.destroy()
    await stop()
  })
  return { endpoint: server.endpoint, ddb, stop }
}

/** Both stores, migrated, with the seed users. */
export async function testBackends(t: Test, options: { seed?: boolean } = {}): Promise<TestBackends> {
  const table = 'cruddur-messages'
  const [{ url, sql }, { endpoint, ddb, stop }] = await Promise.all([testDatabase(t), testDynamo(t, table)])
  const users = createUsersRepository(sql)
  if (options.seed !== false) await seedUsers(users)
  return { databaseUrl: url, dynamoEndpoint: endpoint, table, sql, ddb, store: createConversationsStore(ddb, table), users, stopDynamo: stop }
}
