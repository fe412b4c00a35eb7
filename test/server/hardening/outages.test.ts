// Outages answer 503 SERVICE_UNAVAILABLE with Retry-After and a generic message (issue 8): DynamoDB or
// PostgreSQL cut off (through a TCP proxy), DynamoDB that stops answering (a deadline), an overloaded
// process (@fastify/under-pressure). Bugs stay 500: a dropped table is no outage.
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import t, { type Test } from 'tap'
import { testApp, type TestApp } from '../../helpers/app.js'
import { REGION, testBackends } from '../../helpers/backends.js'
import { tcpProxy } from '../../helpers/tcp-proxy.js'
import { addUser, expectError, expectResult, jsonPost, q } from '../trpc/wire.js'
import { connect, createServer, type Socket } from 'node:net'

function expectOutage(t: Test, res: Awaited<ReturnType<TestApp['call']>>, label: string): void {
  const err = expectError(t, res, 'SERVICE_UNAVAILABLE', 503, label)
  t.equal(err.message, 'Service temporarily unavailable', `${label}: generic message`)
  const retryAfter = Number(res.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `${label}: Retry-After ${String(retryAfter)}`)
}

t.test('DynamoDB cut off: 503 with Retry-After; back when it is', async (t) => {
  const backends = await testBackends(t)
  const url = new URL(backends.dynamoEndpoint)
  const proxy = await tcpProxy(t, { host: url.hostname, port: Number(url.port) })
  const app = await testApp(t, { backends, env: { AWS_ENDPOINT_URL_DYNAMODB: `http://${proxy.host}:${String(proxy.port)}`, DDB_DEADLINE_MS: '3000' } })
  const token = await app.token('bayko')
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'before', handle: 'londo' }, token)), 'before the cut')
  proxy.cut()
  expectOutage(t, await app.call('/trpc/messages.create', jsonPost({ message: 'during', handle: 'londo' }, token)), 'create')
  expectOutage(t, await app.call(q('messageGroups.list', { limit: 7 }), { token }), 'groups')
  const mixed = await app.call(`/trpc/users.me,messageGroups.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 1: { limit: 8 } }))}`, { token })
  t.equal(mixed.status, 207, 'a batch with one outage: 207')
  t.equal((mixed.body as { error?: { data: { code: string } } }[])[1]?.error?.data.code, 'SERVICE_UNAVAILABLE')
  t.ok(mixed.headers.get('retry-after'), 'with Retry-After')
  proxy.restore()
  expectResult(t, await app.call(q('messageGroups.list', { limit: 9 }), { token }), 'after restore')
})

/** A proxy that passes traffic, or (hang) accepts connections and never answers: a backend that froze. */
async function freezingProxy(t: Test, target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  let frozen = false
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    if (frozen) return // held open, unanswered
    const upstream = connect(target.port, target.host)
    sockets.add(upstream)
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve() }))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => { resolve() })
  }))
  return {
    url: `http://127.0.0.1:${String((server.address() as { port: number }).port)}`,
    freeze() {
      frozen = true
      for (const s of sockets) s.destroy()
    },
  }
}

t.test('DynamoDB that accepts connections and never answers: 503 at the deadline', async (t) => {
  const backends = await testBackends(t)
  const url = new URL(backends.dynamoEndpoint)
  const proxy = await freezingProxy(t, { host: url.hostname, port: Number(url.port) })
  const app = await testApp(t, { backends, env: { AWS_ENDPOINT_URL_DYNAMODB: proxy.url, DDB_DEADLINE_MS: '1500' } })
  const token = await app.token('bayko')
  expectResult(t, await app.call(q('messageGroups.list', { limit: 4 }), { token }), 'before')
  proxy.freeze()
  const started = Date.now()
  expectOutage(t, await app.call(q('messageGroups.list', { limit: 5 }), { token }), 'a read with DynamoDB frozen')
  const ms = Date.now() - started
  t.ok(ms >= 1_000 && ms < 5_000, `answered after ${String(ms)} ms (deadline 1.5 s)`)
})

t.test('PostgreSQL cut off: 503; a dropped DynamoDB table stays 500', async (t) => {
  const backends = await testBackends(t)
  const pg = new URL(backends.databaseUrl)
  const proxy = await tcpProxy(t, { host: pg.hostname, port: Number(pg.port || 5432) })
  pg.host = `${proxy.host}:${String(proxy.port)}`
  const app = await testApp(t, { backends, env: { DATABASE_URL: pg.toString(), PG_DEADLINE_MS: '3000' } })
  const token = await app.token('bayko')
  const stranger = await addUser(app, 'stranger')
  const strangerToken = await app.token(stranger.handle)
  expectResult(t, await app.call(q('users.me'), { token }), 'before the cut')
  proxy.cut()
  expectOutage(t, await app.call(q('users.short', { handle: 'andrewbrown' }), { token }), 'users.short')
  expectOutage(t, await app.call(q('users.me'), { token: strangerToken }), 'a sign-in needing PostgreSQL')
  proxy.restore()
  for (let i = 0; i < 50; i++) {
    if ((await app.call(q('users.short', { handle: 'andrewbrown' }), { token })).status === 200) break
    await new Promise((r) => setTimeout(r, 100))
  }
  expectResult(t, await app.call(q('users.short', { handle: 'andrewbrown' }), { token }), 'after restore')

  const raw = new DynamoDBClient({ region: REGION, endpoint: backends.dynamoEndpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })
  await raw.send(new DeleteTableCommand({ TableName: backends.table }))
  raw.destroy()
  expectError(t, await app.call(q('messageGroups.list', { limit: 3 }), { token }), 'INTERNAL_SERVER_ERROR', 500, 'a dropped table is a bug, not an outage')
})

t.test('overloaded (heap past its limit): 503 in tRPC shape; /health still answers', async (t) => {
  const app = await testApp(t, { env: { MAX_HEAP_USED_BYTES: '1' } })
  const token = await app.token('bayko')
  // under-pressure samples memory once a second.
  await new Promise((r) => setTimeout(r, 1_200))
  expectOutage(t, await app.call(q('users.me'), { token }), 'any call')
  t.equal((await app.call('/health')).status, 200)
})

t.test('overloaded (event loop delay): 503', async (t) => {
  // under-pressure compares the mean delay of a second's samples (10 ms apart): one 4 s block in a
  // second of samples lifts that mean past 30 ms whatever the idle samples around it.
  const app = await testApp(t, { env: { MAX_EVENT_LOOP_DELAY_MS: '30' } })
  const token = await app.token('bayko')
  let before = 0
  for (let i = 0; i < 20 && before !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250))
    before = (await app.call(q('users.me'), { token })).status
  }
  t.equal(before, 200, 'answers while the loop keeps time')
  let refused = false
  for (let i = 0; i < 2 && !refused; i++) {
    const until = Date.now() + 4_000
    while (Date.now() < until) {
      // the event loop blocked, as by a CPU-bound burst
    }
    const res = await app.call(q('users.me'), { token })
    if (res.status === 503) {
      refused = true
      expectOutage(t, res, 'right after a blocked event loop')
    }
  }
  t.ok(refused, 'refused while the loop was late')
})
