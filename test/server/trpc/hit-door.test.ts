// The front door (server/trpc/hit-door.ts): cache hits answered before Fastify routes them, with the
// same bytes and headers as the fast path inside Fastify, the same checks (rate limits counted once,
// the forwarded address, overload), and everything else left to Fastify untouched.
import { Agent, get } from 'node:http'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { testApp, type TestApp } from '../../helpers/app.js'
import { wrappedCache } from '../../helpers/cache.js'
import { testBackends } from '../../helpers/backends.js'
import { entities } from '../../../server/cache/cache-backend.js'
import { SEED_USERS } from '../../../server/data/seed.js'
import { expectError, q, qBatch } from './wire.js'

/** Fast-path answers by where they were given. */
async function answers(app: TestApp): Promise<Record<string, number>> {
  const counts: Record<string, number> = { front_door: 0, fastify: 0 }
  for (const v of (await app.metrics.fastPathAnswers.get()).values) counts[String(v.labels.via)] = v.value
  return counts
}

/** Answers counted at each place since `before`. */
async function since(app: TestApp, before: Record<string, number>): Promise<Record<string, number>> {
  const now = await answers(app)
  return { front_door: now.front_door! - before.front_door!, fastify: now.fastify! - before.fastify! }
}

const HEADERS = ['content-type', 'vary', 'cache-control', 'x-content-type-options', 'content-length']

t.test('a hit over HTTP is answered at the front door, in the bytes and headers Fastify sends', async (t) => {
  const app = await testApp(t)
  t.ok(app.app.frontDoor?.isOpen, 'the door is open')
  const token = await app.token('andrewbrown')
  const paths = [
    q('users.me'),
    q('messageGroups.list', { limit: 5 }),
    qBatch([['users.me'], ['messageGroups.list', {}]]),
    qBatch([['messageGroups.list', {}]]),
  ]
  for (const path of paths) await app.call(path, { token }) // fills the cache, learns the caller
  const before = await answers(app)
  for (const path of paths) {
    const door = await fetch(app.url + path, { headers: { authorization: `Bearer ${token}` } })
    const inside = await app.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } })
    t.equal(door.status, 200, path)
    t.equal(inside.statusCode, 200, path)
    for (const h of HEADERS) t.equal(door.headers.get(h), String(inside.headers[h]), `${h}: ${path}`)
    t.same(Buffer.from(await door.arrayBuffer()), inside.rawPayload, `bytes: ${path}`)
  }
  t.same(await since(app, before), { front_door: paths.length, fastify: paths.length }, 'HTTP at the door, inject (no socket) inside Fastify')
})

t.test('what the door leaves to Fastify: CORS, streaming, unknown callers, logged requests', async (t) => {
  const backends = await testBackends(t)
  const app = await testApp(t, { backends, env: { CORS_ORIGINS: 'http://web.example' } })
  const token = await app.token('andrewbrown')
  const path = q('messageGroups.list')
  await app.call(path, { token })
  let before = await answers(app)
  const cors = await app.call(path, { token, headers: { origin: 'http://web.example' } })
  t.equal(cors.status, 200)
  t.equal(cors.headers.get('access-control-allow-origin'), 'http://web.example', 'CORS headers from @fastify/cors')
  const plain = await app.call(path, { token })
  t.same(cors.body, plain.body, 'the same answer either way')
  t.same(await since(app, before), { front_door: 1, fastify: 1 }, 'with an Origin, inside Fastify; without, at the door')

  before = await answers(app)
  // A streamed batch (httpBatchStreamLink): the adapter's.
  const stream = await app.call(qBatch([['messageGroups.list']]), { token, headers: { 'trpc-accept': 'application/jsonl' } })
  t.equal(stream.status, 200)
  const other = await app.token('bayko')
  t.equal((await app.call(path, { token: other })).status, 200, 'a caller not seen before')
  t.equal((await app.call(path, { token: `${token}x` })).status, 401, 'a forged signature')
  t.same(await since(app, before), { front_door: 0, fastify: 0 }, 'none of them answered by the fast path')

  // Request logs (info): every request goes through Fastify, which writes its line.
  const lines: string[] = []
  const logged = await testApp(t, {
    backends,
    logger: {
      level: 'info',
      stream: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk))
          done()
        },
      }),
    },
  })
  t.equal(logged.app.frontDoor, null, 'no front door where requests are logged')
  const brown = await logged.token('andrewbrown')
  await logged.call(path, { token: brown })
  await logged.call(path, { token: brown })
  t.equal(lines.filter((l) => l.includes('"url":"/trpc/messageGroups.list"') && l.includes('incoming request')).length, 2, 'both requests logged')
  t.same(await answers(logged), { front_door: 0, fastify: 1 }, 'the hit answered inside Fastify')
})

t.test('the address limit counts each request once, at the door or in Fastify; a miss handed back is not counted twice', async (t) => {
  const app = await testApp(t, { env: { RATE_LIMIT_ADDRESS_PER_MINUTE: '6', RATE_LIMIT_READS_PER_MINUTE: '1000' } })
  const token = await app.token('andrewbrown')
  // 1: unknown caller (Fastify). 2: a miss at the door, handed back (counted by Fastify only). 3–6: hits at the door.
  t.equal((await app.call(q('users.me'), { token })).status, 200)
  const before = await answers(app)
  t.equal((await app.call(q('messageGroups.list', { limit: 2 }), { token })).status, 200, 'a miss')
  for (let i = 0; i < 4; i++) t.equal((await app.call(q('messageGroups.list', { limit: 2 }), { token })).status, 200, `hit ${String(i)}`)
  t.same(await since(app, before), { front_door: 4, fastify: 0 }, 'four hits at the door')
  expectError(t, await app.call(q('messageGroups.list', { limit: 2 }), { token }), 'TOO_MANY_REQUESTS', 429, 'the seventh from one address')
})

t.test('per user reads: the door counts every call of a batch, and leaves a caller at the limit to Fastify', async (t) => {
  let hitReads = 0
  const app = await testApp(t, {
    env: { RATE_LIMIT_READS_PER_MINUTE: '5' },
    wrapCache: wrappedCache({
      hitBytes: (cache, ref) => {
        hitReads++
        return cache.hitBytes(ref)
      },
    }),
  })
  const token = await app.token('andrewbrown')
  t.equal((await app.call(q('users.me'), { token })).status, 200) // 1 (learns the caller)
  const before = await answers(app)
  t.equal((await app.call(qBatch([['users.me'], ['users.me']]), { token })).status, 200) // 3
  t.equal((await app.call(qBatch([['users.me'], ['users.me']]), { token })).status, 200) // 5
  t.same(await since(app, before), { front_door: 2, fastify: 0 })
  const readsBefore = hitReads
  expectError(t, await app.call(q('messageGroups.list'), { token }), 'TOO_MANY_REQUESTS', 429, 'the sixth read')
  t.equal(hitReads, readsBefore, 'refused without reading the cache')
  t.equal((await app.call(q('users.me'), { token: await app.token('bayko') })).status, 200, 'another caller')
})

t.test('behind a load balancer: the door limits the forwarded address, as Fastify does', async (t) => {
  const app = await testApp(t, { env: { TRUST_PROXY_HOPS: '1', RATE_LIMIT_ADDRESS_PER_MINUTE: '3', RATE_LIMIT_READS_PER_MINUTE: '1000' } })
  const token = await app.token('andrewbrown')
  const from = (ip: string) => app.call(q('users.me'), { token, headers: { 'x-forwarded-for': ip } })
  t.equal((await from('198.51.100.1')).status, 200, 'learns the caller (another client)')
  const before = await answers(app)
  for (let i = 0; i < 3; i++) t.equal((await from('203.0.113.7')).status, 200)
  t.same(await since(app, before), { front_door: 3, fastify: 0 })
  expectError(t, await from('203.0.113.7'), 'TOO_MANY_REQUESTS', 429, 'the fourth from one client')
  const after = await answers(app)
  t.equal((await from('198.51.100.9')).status, 200, 'another client behind the same balancer is not limited')
  t.same(await since(app, after), { front_door: 1, fastify: 0 }, 'and answered at the door: its own address counted, on the same connection')
})

t.test('closing shuts the door: from then on Fastify answers every request', async (t) => {
  const app = await testApp(t)
  t.ok(app.app.frontDoor?.isOpen)
  const stopping = app.server.stop()
  // The preClose hooks run before the listening socket closes.
  for (let i = 0; i < 100 && app.app.frontDoor?.isOpen; i++) await new Promise((r) => setImmediate(r))
  t.notOk(app.app.frontDoor?.isOpen, 'shut while closing')
  await stopping
})

t.test('a client gone before its hit is answered: nothing breaks, the next ones are answered', async (t) => {
  let delayMs = 0
  const app = await testApp(t, {
    wrapCache: wrappedCache({
      hitBytes: (cache, ref) => {
        const bytes = cache.hitBytes(ref)
        return bytes && delayMs > 0 ? new Promise((r) => setTimeout(() => r(bytes), delayMs)) : bytes
      },
    }),
  })
  const token = await app.token('andrewbrown')
  const path = q('messageGroups.list')
  t.equal((await app.call(path, { token })).status, 200)
  const before = await answers(app)
  delayMs = 300
  const gone = await Promise.allSettled(
    Array.from({ length: 5 }, () => app.call(path, { token, signal: AbortSignal.timeout(50) })),
  )
  t.ok(gone.every((r) => r.status === 'rejected'), 'the clients gave up')
  await new Promise((r) => setTimeout(r, 400)) // their answers come after they left
  delayMs = 0
  t.equal((await app.call(path, { token })).status, 200, 'the next one is answered')
  t.ok((await since(app, before)).front_door! >= 1)
})

/** GETs over one keep-alive connection, as a client's pool reuses it: each answer with the local port it came over. */
function oneConnection(t: Test, base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  return (path: string, token: string) =>
    new Promise<{ status: number; body: Buffer; port: number | undefined }>((resolve, reject) => {
      get(base + path, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks: Buffer[] = []
        const port = res.socket.localPort // the socket goes back to the pool at the end
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), port }))
      }).on('error', reject)
    })
}

t.test('on one connection, every request is judged by its own token and URL, however the last ones went', async (t) => {
  const app = await testApp(t)
  const brown = await app.token('andrewbrown', { ttlSeconds: 5 })
  const expiresAt = (JSON.parse(Buffer.from(brown.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000
  const bayko = await app.token('bayko')
  const groups = q('messageGroups.list')
  const batched = qBatch([['messageGroups.list', {}]])
  for (const token of [brown, bayko]) for (const path of [groups, batched]) await app.call(path, { token }) // learns both, fills the cache
  const inside = async (path: string, token: string) =>
    (await app.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } })).rawPayload
  const call = oneConnection(t, app.url)
  const before = await answers(app)
  const ports = new Set<number | undefined>()
  for (const [path, token, who] of [
    [groups, brown, 'andrewbrown'],
    [groups, bayko, 'bayko'],
    [batched, bayko, 'bayko, batched'],
    [groups, brown, 'andrewbrown again'],
    [batched, brown, 'andrewbrown, batched'],
  ] as const) {
    const got = await call(path, token)
    ports.add(got.port)
    t.equal(got.status, 200, who)
    t.same(got.body, await inside(path, token), `${who}: the caller's own answer`)
  }
  const me = q('users.me')
  t.match((await call(me, brown)).body.toString(), '"handle":"andrewbrown"', 'one caller, then')
  t.match((await call(me, bayko)).body.toString(), '"handle":"bayko"', 'another, each their own')
  t.same(await since(app, before), { front_door: 7, fastify: 5 }, 'all at the door (inject: inside Fastify)')
  refused(t, await call(groups, `${brown}x`), 'a forged token after a good one')
  t.equal((await call(groups, brown)).status, 200, 'and the good one again')
  // The token runs out while the connection stays open: refused, although the last request on it had it.
  t.ok(Date.now() < expiresAt, 'the token was still valid for the requests above')
  await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 200))
  refused(t, await call(groups, brown), 'an expired token on the connection that used it')
  ports.add((await call(groups, bayko)).port)
  t.equal(ports.size, 1, 'all over one connection')
})

/** A refusal over the raw connection, in tRPC's shape. */
const refused = (t: Test, got: { status: number; body: Buffer }, label: string) =>
  expectError(t, { status: got.status, body: JSON.parse(got.body.toString()) as unknown }, 'UNAUTHORIZED', 401, label)

t.test('callers back together after a lull stay on the fast path: their memos, run out, are read again once each', async (t) => {
  // Without this, every request of every caller whose memo ran out took tRPC's full path (about ten
  // times a hit's CPU) until a lookup came back: a few hundred callers resuming together after a lull
  // kept the server behind for a quarter of a second (bench:ab, fixed rate, rounds after a 20-s pause).
  let clock = Date.now()
  const subLookups: string[] = []
  const app = await testApp(t, {
    redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
    now: () => clock,
    wrapCache: wrappedCache({
      lookup: (cache, ref) => {
        if (ref.entity.startsWith('{user:sub:')) subLookups.push(ref.entity)
        return cache.lookup(ref)
      },
    }),
  })
  const handles = ['andrewbrown', 'bayko', 'londo']
  const tokens = await Promise.all(handles.map((h) => app.token(h)))
  const path = q('messageGroups.list', { limit: 5 })
  const first = await Promise.all(tokens.map((token) => app.call(path, { token }))) // learns the callers, fills
  t.ok(first.every((r) => r.status === 200))

  clock += 31_000 // every memo has run out
  const before = await answers(app)
  subLookups.length = 0
  const again = await Promise.all(tokens.flatMap((token) => Array.from({ length: 5 }, () => app.call(path, { token }))))
  t.same(again.map((r) => r.status), Array(15).fill(200))
  t.same(again.map((r) => r.body), tokens.flatMap((_, i) => Array<unknown>(5).fill(first[i]!.body)), 'the same answers')
  t.same(await since(app, before), { front_door: 15, fastify: 0 }, 'all at the door: none took the full path')
  t.equal(subLookups.length, handles.length, 'one read of each caller, however many of their requests waited for it')

  subLookups.length = 0
  await Promise.all(tokens.map((token) => app.call(path, { token })))
  t.equal(subLookups.length, 0, 'then known at once again')

  clock += 31_000 // inside Fastify (no socket: inject) alike
  const inside = await app.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${tokens[0]!}` } })
  t.same(inside.json(), first[0]!.body)
  t.same(await since(app, before), { front_door: 15 + 3, fastify: 1 }, 'answered by the fast path inside Fastify')
  t.equal(subLookups.length, 1)
})

t.test('a caller whose memo ran out and whose sub was given to another sign-in meanwhile is refused, counted once', async (t) => {
  let clock = Date.now()
  const backends = await testBackends(t)
  const app = await testApp(t, {
    backends,
    redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
    now: () => clock,
    env: { RATE_LIMIT_ADDRESS_PER_MINUTE: '3', RATE_LIMIT_READS_PER_MINUTE: '1000' },
  })
  const token = await app.token('andrewbrown')
  const path = q('messageGroups.list')
  t.equal((await app.call(path, { token })).status, 200) // 1: learns the caller
  const sub = SEED_USERS[0].cognitoUserId
  await backends.users.setCognitoUserId('andrewbrown', `another-${sub}`)
  await app.app.cache.invalidate([entities.userBySub(sub)]) // as cognito:sync-user-ids does
  clock += 31_000
  const before = await answers(app)
  expectError(t, await app.call(path, { token }), 'UNAUTHORIZED', 401, 'read again: the sub has no user any more') // 2
  t.same(await since(app, before), { front_door: 0, fastify: 0 }, 'not answered from the cache')
  t.equal((await app.call(path, { token: await app.token('bayko') })).status, 200, 'the third request from this address') // 3
  expectError(t, await app.call(path, { token: await app.token('bayko') }), 'TOO_MANY_REQUESTS', 429, 'the fourth: the refused one was counted once')
})
