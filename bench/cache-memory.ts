// How much Redis memory a client can make the cache take (issue 8, item 2): one conversation of 120
// messages of 1,000 characters, then 150 `messages.list { limit: 100, cursor: <invented> }` calls, each
// cursor a sort key of one's own partition that no item has (a valid cursor: any such key is). Prints
// Redis `used_memory` before and after, on a redis-server of its own. Run: npx tsx bench/cache-memory.ts
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { signAccessToken } from '../server/auth/access-token.js'
import { generateKeyPair } from '../server/auth/keys.js'
import { loadConfig } from '../server/config.js'
import { seedUsers } from '../server/data/seed.js'
import { createUsersRepository } from '../server/data/users-repository.js'
import { startDynalite } from '../server/embedded/dynalite.js'
import { createServer } from '../server/server.js'
import { createThrowawayDatabase } from '../test/helpers/databases.js'
import { freePort } from '../test/helpers/ports.js'

const POOL = 'us-east-1_CacheBench'
const CLIENT = 'cache-bench'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  const port = await freePort()
  const redisProcess = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const redis = new Redis({ port, lazyConnect: true })
  for (let i = 0; i < 50; i++) {
    try {
      await redis.connect()
      break
    } catch {
      await sleep(100)
    }
  }
  const db = await createThrowawayDatabase({ prefix: 'cm_cachebench' })
  const dynamo = await startDynalite()
  const key = generateKeyPair()
  const jwksFile = join(await mkdtemp(join(tmpdir(), 'cm-cachebench-')), 'jwks.json')
  await writeFile(jwksFile, JSON.stringify(key.jwks))
  const users = createUsersRepository(db.sql)
  await seedUsers(users)
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_URL: db.url,
    REDIS_URL: `redis://127.0.0.1:${String(port)}`,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    COGNITO_USER_POOL_ID: POOL,
    COGNITO_CLIENT_ID: CLIENT,
    COGNITO_JWKS_FILE: jwksFile,
    // The bench measures memory, not the limits: out of its way.
    RATE_LIMIT_READS_PER_MINUTE: '100000',
    RATE_LIMIT_WRITES_PER_MINUTE: '100000',
    RATE_LIMIT_ADDRESS_PER_MINUTE: '100000',
  })
  const server = await createServer(config, { logger: false })
  const url = await server.start()
  try {
    const sub = (await users.findByHandle('andrewbrown'))!.cognitoUserId!
    const token = signAccessToken(key, { sub, userPoolId: POOL, clientId: CLIENT })
    const call = async (path: string, init: { method?: string; body?: string } = {}) => {
      const res = await fetch(url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
      if (!res.ok) throw new Error(`${path.slice(0, 60)}: ${String(res.status)} ${await res.text()}`)
      return ((await res.json()) as { result: { data: unknown } }).result.data
    }
    let group = ''
    for (let i = 0; i < 120; i++) {
      const body = group ? { message: `${String(i)} ${'x'.repeat(990)}`, messageGroupUuid: group } : { message: `${String(i)} ${'x'.repeat(990)}`, handle: 'bayko' }
      group = ((await call('/trpc/messages.create', { method: 'POST', body: JSON.stringify(body) })) as { messageGroupUuid: string }).messageGroupUuid
    }
    const list = (input: unknown) => call(`/trpc/messages.list?input=${encodeURIComponent(JSON.stringify(input))}`)
    const first = (await list({ messageGroupUuid: group, limit: 10 })) as { nextCursor: string }
    const [pk, sk] = JSON.parse(Buffer.from(first.nextCursor.split('.')[1]!, 'base64url').toString('utf8')) as [string, string]
    const invented = (i: number) => `c1.${Buffer.from(JSON.stringify([pk, `${sk}~${String(i)}`])).toString('base64url')}`
    const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1])
    const before = await used()
    const started = performance.now()
    for (let i = 0; i < 150; i++) await list({ messageGroupUuid: group, limit: 100, cursor: invented(i) })
    const seconds = (performance.now() - started) / 1000
    const after = await used()
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1)
    console.log(`150 invented-cursor messages.list calls (limit 100) in ${seconds.toFixed(1)} s`)
    console.log(`Redis used_memory: ${mb(before)} MB -> ${mb(after)} MB (+${((after - before) / 1024 / 1024).toFixed(1)} MB)`)
  } finally {
    await server.stop()
    await dynamo.close()
    await db.drop()
    redis.disconnect()
    redisProcess.kill()
  }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
