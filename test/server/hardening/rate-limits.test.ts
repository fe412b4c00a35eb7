// Rate limits (issue 8): per client address before auth, per user after; writes and subscription
// starts counted in Redis (across instances), reads per instance in process (a cache-hit read sends
// Redis nothing more); 429 TOO_MANY_REQUESTS with Retry-After in tRPC's shape; failing open when
// Redis is down; counted in /metrics.
import type { Redis } from 'ioredis'
import t from 'tap'
import { generateKeyPair } from '../../../server/auth/keys.js'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { expectError, expectResult, jsonPost, q, qBatch } from '../trpc/wire.js'
import { rawRequest } from './http.js'

const limits = (reads: number, writes: number, subscriptions = 50, address = 10_000) => ({
  RATE_LIMIT_READS_PER_MINUTE: String(reads),
  RATE_LIMIT_WRITES_PER_MINUTE: String(writes),
  RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: String(subscriptions),
  RATE_LIMIT_ADDRESS_PER_MINUTE: String(address),
})

const sample = (text: string, scope: string): number => {
  const m = new RegExp(`^cruddur_rate_limited_total\\{scope="${scope}"\\} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}

t.test('per user: writes tighter than reads, 429 with Retry-After in tRPC shape, counted', async (t) => {
  const app = await testApp(t, { env: limits(6, 3) })
  const [andrew, bayko] = await Promise.all([app.token('andrewbrown'), app.token('bayko')])
  for (let i = 0; i < 3; i++) expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: `m${String(i)}`, handle: 'bayko' }, andrew)), `create ${String(i)}`)
  const refused = await app.call('/trpc/messages.create', jsonPost({ message: 'one too many', handle: 'bayko' }, andrew))
  const err = expectError(t, refused, 'TOO_MANY_REQUESTS', 429, 'fourth create in a minute')
  t.match(err.message, /too many requests/i)
  const retryAfter = Number(refused.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${String(retryAfter)} s`)
  t.equal(refused.headers.get('cache-control'), 'no-store')
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'another user', handle: 'andrewbrown' }, bayko)), "another user's create")
  const stored = await app.backends.store.listMessages((await app.backends.store.listGroups((await app.backends.users.findByHandle('andrewbrown'))!.uuid, { limit: 5 })).items[0]!.uuid, { limit: 10 })
  t.notOk(stored.items.some((m) => m.message === 'one too many'), 'the refused create stored nothing')

  // Reads: cache hits (the fast path) count too; a batch counts each of its calls.
  for (let i = 0; i < 4; i++) t.equal((await app.call(q('users.me'), { token: andrew })).status, 200, `read ${String(i)}`)
  expectError(t, await app.call(qBatch([['users.me'], ['users.me'], ['users.me']]), { token: andrew }), 'TOO_MANY_REQUESTS', 429, 'a batch of three over the two reads left')
  expectError(t, await app.call(q('users.me'), { token: andrew }), 'TOO_MANY_REQUESTS', 429, 'a read over the limit')
  const text = (await app.call('/metrics')).body as string
  t.equal(sample(text, 'write'), 1, 'one write refused, in /metrics')
  t.equal(sample(text, 'read'), 2, 'two reads refused, in /metrics')
  t.match(text, /cruddur_trpc_requests_total\{procedure="messages.create",code="TOO_MANY_REQUESTS"\} 1/, 'counted as a call refused')
})

t.test('per client address, before the token is looked at', async (t) => {
  const app = await testApp(t, { env: limits(1000, 1000, 1000, 5) })
  for (let i = 0; i < 5; i++) t.equal((await app.call(q('users.me'))).status, 401, `unauthenticated ${String(i)}: 401`)
  const refused = await app.call(q('users.me'))
  expectError(t, refused, 'TOO_MANY_REQUESTS', 429, 'sixth from one address')
  t.ok(Number(refused.headers.get('retry-after')) >= 1)
  t.equal((await app.call('/health')).status, 200, '/health is not limited')
  t.equal(sample((await app.call('/metrics')).body as string, 'address'), 1)
})

t.test('behind a load balancer (TRUST_PROXY_HOPS=1): the address is the forwarded one', async (t) => {
  const app = await testApp(t, { env: { ...limits(1000, 1000, 1000, 3), TRUST_PROXY_HOPS: '1' } })
  const from = (ip: string) => app.call(q('users.me'), { headers: { 'x-forwarded-for': ip } })
  for (let i = 0; i < 3; i++) t.equal((await from('203.0.113.7')).status, 401)
  expectError(t, await from('203.0.113.7'), 'TOO_MANY_REQUESTS', 429, 'the fourth from one client')
  t.equal((await from('198.51.100.9')).status, 401, 'another client behind the same balancer is not limited')
})

t.test('subscription starts are limited per user', async (t) => {
  const app = await testApp(t, { env: limits(1000, 1000, 2) })
  const token = await app.token('andrewbrown')
  const path = `/trpc/messageGroups.onChanged?connectionParams=${encodeURIComponent(JSON.stringify({ token }))}`
  const opened: AbortController[] = []
  t.teardown(() => {
    for (const a of opened) a.abort()
  })
  for (let i = 0; i < 2; i++) {
    const abort = new AbortController()
    opened.push(abort)
    const res = await fetch(app.url + path, { signal: abort.signal })
    t.equal(res.status, 200, `stream ${String(i)} opens`)
  }
  const third = await rawRequest(app.url, path)
  expectError(t, third, 'TOO_MANY_REQUESTS', 429, 'third start in a minute')
})

t.test('Redis-backed: writes counted across instances, cache hits add no Redis command, fail open without Redis', async (t) => {
  const redis = await startRedis(t)
  const backends = await testBackends(t)
  const key = generateKeyPair()
  const options = { backends, key, redis: { kind: 'single' as const, url: redis.url }, cachePrefix: 'rl', redisCommandTimeoutMs: 500, env: limits(1000, 4) }
  const a = await testApp(t, options)
  const b = await testApp(t, options)
  const token = await a.token('andrewbrown')
  const create = (app: typeof a, message: string) => app.call('/trpc/messages.create', jsonPost({ message, handle: 'bayko' }, token))
  expectResult(t, await create(a, 'a1'), 'a1')
  expectResult(t, await create(b, 'b1'), 'b1')
  expectResult(t, await create(a, 'a2'), 'a2')
  expectResult(t, await create(b, 'b2'), 'b2')
  expectError(t, await create(a, 'a3'), 'TOO_MANY_REQUESTS', 429, 'the fifth, across two instances')
  expectError(t, await create(b, 'b3'), 'TOO_MANY_REQUESTS', 429, 'and on the other')

  // A cache-hit read: Redis sees the cache lookup and nothing of the limits.
  t.equal((await a.call(q('users.me'), { token })).status, 200, 'warm')
  const monitor: Redis = await redis.client().monitor()
  const commands: string[] = []
  monitor.on('monitor', (_time: string, args: string[]) => commands.push(args.join(' ')))
  for (let i = 0; i < 10; i++) t.equal((await a.call(q('messageGroups.list'), { token })).status, 200)
  await new Promise((r) => setTimeout(r, 100))
  t.ok(commands.length > 0, `the reads sent ${String(commands.length)} cache commands`)
  t.same(commands.filter((c) => c.includes(':rl:')), [], 'no rate-limit command for reads')
  expectError(t, await create(a, 'a4'), 'TOO_MANY_REQUESTS', 429, 'a create, still refused')
  await new Promise((r) => setTimeout(r, 100))
  monitor.disconnect()
  t.ok(commands.some((c) => c.includes(':rl:')), 'the create was counted in Redis (the filter above sees limit commands)')

  // Redis gone: the limit cannot count, and lets everything through.
  await redis.kill()
  for (let i = 0; i < 3; i++) expectResult(t, await create(a, `down ${String(i)}`), `a create with Redis down ${String(i)}`)
})
