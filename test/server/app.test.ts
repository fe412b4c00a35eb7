// The app's HTTP surface outside tRPC: liveness and readiness, over the real server.
import t from 'tap'
import { dropTable } from '../../server/data/table.js'
import { testApp } from '../helpers/app.js'
import { testBackends } from '../helpers/backends.js'
import { tcpProxy } from '../helpers/tcp-proxy.js'


/** What /ready answers (the tests match it). */
interface ReadyBody {
  status: string
  postgres: string
  dynamodb: string
  cache: string
}

t.test('/health and /ready on working backends', async (t) => {
  const app = await testApp(t)
  const health = await app.call('/health')
  t.equal(health.status, 200)
  t.match(health.headers.get('content-type'), /^application\/json/)
  t.same(health.body, { status: 'ok' })
  const head = await fetch(`${app.url}/health`, { method: 'HEAD' })
  t.equal(head.status, 200, 'HEAD /health')

  const ready = await app.call('/ready')
  t.equal(ready.status, 200)
  t.match(ready.headers.get('content-type'), /^application\/json/)
  t.match(ready.body, { postgres: 'up', dynamodb: 'up' })
  const { cache } = ready.body as ReadyBody
  t.ok(['up', 'degraded', 'in-process'].includes(cache), `cache reported (${cache})`)
  t.equal(cache, 'in-process', 'no Redis configured: the in-process cache')

  // Neither needs a token; a token does not hurt either.
  t.equal((await app.call('/health', { token: 'garbage' })).status, 200)
  t.equal((await app.call('/ready', { token: 'garbage' })).status, 200)
})

t.test('/ready reports Redis when the cache is Redis', async (t) => {
  const app = await testApp(t, { redis: { kind: 'single', url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' } })
  // A read makes the cache talk to Redis at least once.
  await app.call('/trpc/users.me', { token: await app.token('bayko') })
  const ready = await app.call('/ready')
  t.equal(ready.status, 200)
  t.match(ready.body, { postgres: 'up', dynamodb: 'up', cache: 'up' })
})

t.test('/ready is 503 when dynalite is down, /health still 200', async (t) => {
  const b = await testBackends(t)
  const app = await testApp(t, { backends: b })
  t.equal((await app.call('/ready')).status, 200, 'ready while dynalite runs')
  await b.stopDynamo()
  const started = Date.now()
  const ready = await app.call('/ready')
  t.equal(ready.status, 503)
  t.match(ready.headers.get('content-type'), /^application\/json/)
  t.match(ready.body, { postgres: 'up', dynamodb: 'down' })
  t.ok('cache' in (ready.body as ReadyBody), 'cache still reported')
  t.ok(Date.now() - started < 5000, 'answers promptly')
  t.notMatch(JSON.stringify(ready.body), /ECONNREFUSED|Exception|at /, 'no error text')
  t.equal((await app.call('/health')).status, 200, 'the process still serves')
})

t.test('/ready is 503 when the table is missing', async (t) => {
  const b = await testBackends(t)
  const app = await testApp(t, { backends: b })
  t.equal((await app.call('/ready')).status, 200, 'ready with the table')
  await dropTable(b.ddb, b.table)
  const ready = await app.call('/ready')
  t.equal(ready.status, 503)
  t.match(ready.body, { postgres: 'up', dynamodb: 'down' })
})

t.test('/ready is 503 when PostgreSQL is unreachable', async (t) => {
  const b = await testBackends(t)
  // The server reaches PostgreSQL through a proxy the test cuts once it has started.
  const db = new URL(b.databaseUrl)
  const proxy = await tcpProxy(t, { host: db.hostname, port: Number(db.port || 5432) })
  db.host = `${proxy.host}:${proxy.port}`
  const app = await testApp(t, { backends: b, env: { DATABASE_URL: db.toString() } })
  t.equal((await app.call('/ready')).status, 200, 'ready through the proxy')
  proxy.cut()
  const ready = await app.call('/ready')
  t.equal(ready.status, 503)
  t.match(ready.body, { postgres: 'down', dynamodb: 'up' })
})
