// Refusals before any procedure runs, each in tRPC's error shape (issue 8, item 7): the batch cap,
// methods other than GET and POST, HEAD, paths too long, headers too large, shutdown; and the headers
// every API answer carries.
import { createClient } from '@cruddur/client'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { expectError, expectResult, jsonPost, q, qBatch } from '../trpc/wire.js'
import { bodyOf, rawRequest, rawSocket } from './http.js'

t.test('a batch carries at most MAX_BATCH_SIZE calls, refused before any runs', async (t) => {
  const app = await testApp(t, { env: { MAX_BATCH_SIZE: '4' } })
  const token = await app.token('andrewbrown')
  const calls = (n: number) => Array.from({ length: n }, () => ['users.me'] as [string])
  t.equal((await app.call(qBatch([['users.me']]), { token })).status, 200, 'warm the cache')
  t.equal((await app.call(qBatch(calls(4)), { token })).status, 200, 'four calls (the cap): answered, from the fast path')
  const five = await app.call(qBatch(calls(5)), { token })
  const err = expectError(t, five, 'BAD_REQUEST', 400, 'five GET calls (fast path)')
  t.match(err.message, /at most 4 calls/)

  // Five creates in one POST: refused as a whole, nothing stored.
  const creates = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [String(i), { message: `batch ${String(i)}`, handle: 'bayko' }]))
  const posted = await app.call(`/trpc/${Array(5).fill('messages.create').join(',')}?batch=1`, jsonPost(creates, token))
  expectError(t, posted, 'BAD_REQUEST', 400, 'five creates in one POST')
  const groups = expectResult(t, await app.call(q('messageGroups.list'), { token })) as { items: unknown[] }
  t.same(groups.items, [], 'no create of the refused batch ran')
  // The adapter's own path (no fast path for a subscription-free uncached batch) is refused alike.
  const uncached = await app.call(qBatch(Array.from({ length: 5 }, () => ['users.short', { handle: 'bayko' }] as [string, unknown])), { token })
  expectError(t, uncached, 'BAD_REQUEST', 400, 'five uncached queries')
  t.equal((await app.call(qBatch(calls(4).map(() => ['users.short', { handle: 'londo' }] as [string, unknown])), { token })).status, 200)
})

t.test("@cruddur/client's batches stay within the default cap", async (t) => {
  const app = await testApp(t)
  t.equal(app.config.maxBatchSize, 10, 'default cap')
  const client = createClient({ url: app.url, token: await app.token('andrewbrown') })
  // 25 queries in one tick: the client splits them into batches the server accepts.
  const answers = await Promise.all(Array.from({ length: 25 }, () => client.users.me.query()))
  t.equal(answers.length, 25)
  t.ok(answers.every((a) => a.handle === 'andrewbrown'))
})

t.test('other methods: 405 in tRPC shape, JSON, before any body is read', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  for (const method of ['PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const res = await rawRequest(app.url, '/trpc/messages.create', { method, headers: { authorization: `Bearer ${token}`, 'content-length': '2' }, body: '{}' })
    expectError(t, res, 'METHOD_NOT_SUPPORTED', 405, `${method} without a content type`)
    t.match(res.headers['content-type'], /^application\/json/, `${method}: labelled JSON`)
    t.equal(res.headers.allow, 'GET, POST')
  }
  const head = await rawRequest(app.url, '/trpc/users.me', { method: 'HEAD' })
  t.equal(head.status, 405, 'HEAD without auth is no 204')
  const headAuth = await rawRequest(app.url, '/trpc/users.me', { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })
  t.equal(headAuth.status, 405, 'HEAD with auth: 405 too')
})

t.test('API answers are no-store and nosniff: adapter, fast path, errors', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const first = await app.call(q('users.me'), { token })
  const second = await app.call(q('users.me'), { token })
  const error = await app.call(q('users.me'))
  const post = await app.call('/trpc/messages.create', jsonPost({ message: 'hi', handle: 'bayko' }, token))
  t.ok((await app.metrics.fastPathAnswers.get()).values[0]!.value >= 1, 'the second read came from the fast path')
  for (const [label, res] of [['adapter', first], ['fast path', second], ['401', error], ['mutation', post]] as const) {
    t.equal(res.headers.get('cache-control'), 'no-store', `${label}: no-store`)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${label}: nosniff`)
  }
})

t.test('414, 431 and 400 from the connection level in tRPC shape, echoing nothing', async (t) => {
  const app = await testApp(t)
  const long = `/trpc/${Array(800).fill('users.me').join(',')}?batch=1`
  const res = await rawRequest(app.url, long)
  expectError(t, res, 'BAD_REQUEST', 414, 'path past maxParamLength')
  t.notMatch(res.text, /users\.me/, 'the path is not echoed')

  const big = await rawRequest(app.url, '/trpc/users.me', { headers: { 'x-filler': 'f'.repeat(20_000) } })
  expectError(t, big, 'BAD_REQUEST', 431, 'headers over 16 KB')
  t.notMatch(big.text, /fff/)
})

t.test('during shutdown: 503 with Retry-After in tRPC shape', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  // A keep-alive connection opened before the shutdown, used after it started.
  const { socket, received } = await rawSocket(app.url)
  const get = `GET /trpc/users.me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`
  socket.write(get)
  await new Promise((r) => setTimeout(r, 300))
  // Hold a request open so the close waits, then start closing.
  const closing = app.server.stop()
  await new Promise((r) => setTimeout(r, 20))
  socket.write(get)
  const { text } = await received
  await closing
  const answers = text.split(/(?=HTTP\/1\.1 )/)
  t.equal(answers.length, 2, 'two answers')
  t.match(answers[1], /^HTTP\/1\.1 503/, 'the second: 503')
  t.match(answers[1], /retry-after: 1/i)
  const body = bodyOf(answers[1]!)
  t.equal(body.error.data.code, 'SERVICE_UNAVAILABLE')
  t.equal(body.error.message, 'Service temporarily unavailable')
})
