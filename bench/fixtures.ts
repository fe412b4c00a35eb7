// The bench's data: a fresh PostgreSQL database, the DynamoDB table, users with tokens, and
// conversations between pairs of them written through server A's API.
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createTable } from '../server/data/table.js'
import { createThrowawayDatabase, type ThrowawayDatabase } from '../test/helpers/databases.js'
import { signAccessToken } from '../server/auth/access-token.js'
import { generateKeyPair, type KeyPair } from '../server/auth/keys.js'
import type { Sql } from '../server/data/postgres.js'
import { createUsersRepository } from '../server/data/users-repository.js'
import type { HttpDriver } from './http-driver.js'

export const POOL_ID = 'us-east-1_BenchPool'
export const CLIENT_ID = 'bench-client'

export type BenchDatabase = ThrowawayDatabase

/** Creates `cm_bench_<random>` on the server of `adminUrl`, migrated. */
export const createDatabase = (adminUrl: string): Promise<BenchDatabase> =>
  createThrowawayDatabase({ adminUrl, prefix: 'cm_bench' })

export async function createMessageTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } })
  try {
    await createTable(client, table)
  } finally {
    client.destroy()
  }
}

export interface Signing {
  key: KeyPair
  jwksFile: string
  cleanup(): Promise<void>
}

/** A key pair of the bench's own, its public half in a JWKS file for COGNITO_JWKS_FILE. */
export async function createSigning(): Promise<Signing> {
  const key = generateKeyPair()
  const dir = await mkdtemp(join(tmpdir(), 'cm-bench-'))
  const jwksFile = join(dir, 'jwks.json')
  await writeFile(jwksFile, JSON.stringify(key.jwks))
  return { key, jwksFile, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

export interface BenchUser {
  index: number
  uuid: string
  handle: string
  token: string
  authorization: string
  /** The user's conversations (message_group_uuid). */
  groups: string[]
}

export interface Conversation {
  uuid: string
  /** Indexes of the two participants in the users array. */
  a: number
  b: number
}

export async function createUsers(sql: Sql, signing: Signing, count: number): Promise<BenchUser[]> {
  const repo = createUsersRepository(sql)
  const users: BenchUser[] = []
  for (let i = 0; i < count; i++) {
    const sub = randomUUID()
    const user = await repo.add({
      handle: `bench_u${i}`,
      displayName: `Bench User ${i}`,
      email: `bench${i}@bench.example`,
      cognitoUserId: sub,
    })
    // Long enough for any run; the verifier checks expiry on every request.
    const token = signAccessToken(signing.key, { sub, userPoolId: POOL_ID, clientId: CLIENT_ID, ttlSeconds: 6 * 3600 })
    users.push({ index: i, uuid: user.uuid, handle: user.handle, token, authorization: `Bearer ${token}`, groups: [] })
  }
  return users
}

/** Pairs (i, i+1), (i, i+2), ... modulo the user count, until `count` pairs. */
export function pairs(users: number, count: number): [number, number][] {
  const out: [number, number][] = []
  for (let step = 1; out.length < count && step <= users / 2; step++) {
    for (let i = 0; i < users && out.length < count; i++) {
      const j = (i + step) % users
      if (step === users / 2 && j < i) continue // the same pair twice
      out.push([i, j])
    }
  }
  return out
}

const LINES = [
  'Did the build go out?',
  'It did, no alarms so far.',
  'How does the message list feel?',
  'Snappy. The cache takes most reads.',
  'Coffee first, then the benchmark?',
]

/** tRPC's answer to a non-batched call: the data (the caller declares its shape), or an error naming the status. */
export function trpcData(status: number, body: string): unknown {
  const parsed = JSON.parse(body) as { result?: { data: unknown }; error?: { message?: string } }
  if (status !== 200 || !parsed.result) throw new Error(`HTTP ${status}: ${parsed.error?.message ?? body.slice(0, 200)}`)
  return parsed.result.data
}

/**
 * Writes the conversations through the API: the first message by handle (which starts the
 * conversation), the others by messageGroupUuid, the two participants taking turns.
 */
export async function createConversations(
  driver: HttpDriver,
  serverUrl: string,
  users: BenchUser[],
  count: number,
  messagesEach: number,
  concurrency = 16,
): Promise<Conversation[]> {
  const todo = pairs(users.length, count)
  const conversations: Conversation[] = []
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const [a, b] = todo[next++]!
      let uuid: string | undefined
      for (let m = 0; m < Math.max(1, messagesEach); m++) {
        const sender = users[m % 2 === 0 ? a : b]!
        const input = uuid ? { message: LINES[m % LINES.length]!, messageGroupUuid: uuid } : { message: LINES[0]!, handle: users[b]!.handle }
        const res = await driver.send({
          method: 'POST',
          url: serverUrl,
          path: '/trpc/messages.create',
          headers: { authorization: sender.authorization },
          body: JSON.stringify(input),
        })
        uuid = (trpcData(res.status, res.body) as { messageGroupUuid: string }).messageGroupUuid
      }
      conversations.push({ uuid: uuid!, a, b })
      users[a]!.groups.push(uuid!)
      users[b]!.groups.push(uuid!)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return conversations
}
