// Graceful shutdown of the real entry: on SIGTERM, requests already received finish (and their
// messages are stored), then the process exits 0 after closing its pools.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { signAccessToken } from '../../server/auth/access-token.js'
import { generateKeyPair } from '../../server/auth/keys.js'
import { CONFIG_NAMES } from '../../server/config.js'
import { writeJwks } from '../helpers/app.js'
import { testBackends } from '../helpers/backends.js'
import { freePort } from '../helpers/ports.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const POOL = 'us-east-1_Shutdown1'
const CLIENT = 'shutdown-client'


function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

t.test('SIGTERM lets received requests finish, then exits 0', { timeout: 60_000 }, async (t) => {
  const b = await testBackends(t)
  const key = generateKeyPair()
  const dataDir = await mkdtemp(join(tmpdir(), 'cm-shutdown-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const drop = new Set<string>([...CONFIG_NAMES, 'NODE_OPTIONS'])
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.has(name)))
  Object.assign(env, {
    PORT: String(port),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    DATABASE_URL: b.databaseUrl,
    AWS_ENDPOINT_URL_DYNAMODB: b.dynamoEndpoint,
    DDB_MESSAGE_TABLE: b.table,
    COGNITO_USER_POOL_ID: POOL,
    COGNITO_CLIENT_ID: CLIENT,
    COGNITO_JWKS_FILE: await writeJwks(key),
  })
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exit = exitOf(child)
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let log = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (log += c))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200 && !log.includes('Server listening'); i++) await new Promise((r) => setTimeout(r, 50))
  t.match(log, /Server listening/)

  const brown = (await b.users.findByHandle('andrewbrown'))!
  const token = signAccessToken(key, { sub: brown.cognitoUserId!, userPoolId: POOL, clientId: CLIENT })
  const N = 30
  const sent = Array.from({ length: N }, (_, i) =>
    fetch(`${url}/trpc/messages.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'bayko', message: `in flight ${i}` }),
    }).then((r) => r.status),
  )
  // Once the server has received all of them (its request log says so), ask it to stop.
  const received = () => (log.match(/"url":"\/trpc\/messages.create"/g) ?? []).length
  for (let i = 0; i < 400 && received() < N; i++) await new Promise((r) => setTimeout(r, 5))
  t.equal(received(), N, 'all requests reached the server')
  child.kill('SIGTERM')

  t.same(await Promise.all(sent), Array(N).fill(200), 'every received request was answered')
  const code = await exit
  t.equal(code, 0, 'exit code 0')
  t.match(log, /shutting down/)

  const groupUuid = await b.store.conversationFor(brown.uuid, (await b.users.findByHandle('bayko'))!.uuid)
  const stored = await b.store.listMessages(groupUuid, { limit: 100 })
  t.equal(stored.items.filter((m) => m.message.startsWith('in flight ')).length, N, 'and every message is stored')
})
