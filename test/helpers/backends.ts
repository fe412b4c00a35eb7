// Real backends for a test: a fresh PostgreSQL database on the machine's server, a dynalite of its
// own on a free port, and the table, all torn down when the test ends.
import { randomBytes } from 'node:crypto'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Test } from 'tap'
import { createTable } from '../../db/ddb-schema.js'
import { migrate } from '../../db/migrate.js'
import { seedUsers } from '../../db/seed.js'
import { type ConversationsStore, createConversationsStore } from '../../server/data/conversations-store.js'
import { createDynamo } from '../../server/data/dynamo.js'
import { createSql, type Sql } from '../../server/data/postgres.js'
import { createUsersRepository, type UsersRepository } from '../../server/data/users-repository.js'
import { startDynalite } from '../../server/embedded/dynalite.js'

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
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

/** A fresh, migrated PostgreSQL database; dropped at teardown. */
export async function testDatabase(t: Test): Promise<{ url: string; sql: Sql }> {
  const name = `cm_test_${randomBytes(6).toString('hex')}`
  const admin = createSql(ADMIN_DATABASE_URL, { max: 1 })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(ADMIN_DATABASE_URL)
  url.pathname = `/${name}`
  const sql = createSql(url.toString())
  await migrate(sql)
  t.teardown(async () => {
    await sql.end({ timeout: 5 })
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 5 })
  })
  return { url: url.toString(), sql }
}

/** A dynalite of the test's own, with the table created; `stop` ends it early. */
export async function testDynamo(
  t: Test,
  table = 'cruddur-messages',
): Promise<{ endpoint: string; ddb: DynamoDBDocumentClient; stop(): Promise<void> }> {
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
