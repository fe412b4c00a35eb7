// Redis is never a point of failure (API.md, Guarantees): killed under load, restarted with old
// entries restored from disk, frozen (SIGSTOP), or never there at all, every procedure answers
// correctly and fast from DynamoDB, and the cache comes back by itself without serving stale data.
import t from 'tap'
import { performance } from 'node:perf_hooks'
import { entities } from '../../../server/cache/cache-backend.js'
import { type TestApp, testApp } from '../../helpers/app.js'
import { type TestBackends, testBackends } from '../../helpers/backends.js'
import { startRedis, unreachablePort } from '../../helpers/redis-server.js'
import { addUser, dataOf, jsonPost, q, type Output } from '../trpc/wire.js'
import { logCollector, sleep, value, waitFor } from './cache-utils.js'

/** A call that must answer 200 within `maxMs`; returns data, or records why not. */
function checked(app: TestApp, failures: string[], maxMs: number) {
  const latencies: number[] = []
  const call = async (path: string, init: Parameters<TestApp['call']>[1]) => {
    const started = performance.now()
    let res: Awaited<ReturnType<TestApp['call']>>
    try {
      res = await app.call(path, init)
    } catch (err) {
      failures.push(`${path.slice(0, 40)}: ${(err as Error).message}`)
      return undefined
    }
    const ms = performance.now() - started
    latencies.push(ms)
    if (res.status !== 200) failures.push(`${path.slice(0, 40)}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
    if (ms > maxMs) failures.push(`${path.slice(0, 40)}: took ${ms.toFixed(0)} ms`)
    return dataOf(res)
  }
  return { call, latencies, max: () => Math.max(0, ...latencies) }
}

/** Two users of the test's own with tokens, and their conversation (started with one message). */
async function conversation(app: TestApp, tag: string) {
  const [x, y] = [await addUser(app, `${tag}_x`), await addUser(app, `${tag}_y`)]
  const tokens = { x: await app.token(x.handle), y: await app.token(y.handle) }
  const res = await app.call('/trpc/messages.create', jsonPost({ message: `${tag} hello`, handle: y.handle }, tokens.x))
  if (res.status !== 200) throw new Error(`could not start a conversation: ${res.status}`)
  return { x, y, tokens, g: (dataOf(res) as Output['messages']['create']).messageGroupUuid }
}

/** The texts of a messages.list page; none when there was no page (the failure is recorded). */
const texts = (page: unknown): string[] => (page as { items?: { message: string }[] } | undefined)?.items?.map((m) => m.message) ?? []

t.test('Redis outages', async (t) => {
  const backends: TestBackends = await testBackends(t)

  await t.test('killed during a mixed load: no request fails or waits, one degraded and one recovered log, then hits again', async (t) => {
    const redis = await startRedis(t)
    const logs = logCollector()
    const app = await testApp(t, {
      backends,
      redis: { kind: 'single', url: redis.url },
      cachePrefix: 'kill',
      // A killed server closes the connection at once; a long timeout keeps a busy machine from
      // adding outages of its own (a command timing out) to the one under test.
      redisCommandTimeoutMs: 500,
      logger: { level: 'info', stream: logs.stream },
    })
    const failures: string[] = []
    const { call, latencies, max } = checked(app, failures, 1000)
    const loops = await Promise.all([0, 1, 2, 3, 4].map((i) => conversation(app, `kill${i}`)))

    let stop = false
    let rounds = 0
    async function loop(c: Awaited<ReturnType<typeof conversation>>, i: number) {
      for (let n = 0; !stop; n++) {
        const [from, to] = n % 2 ? (['y', 'x'] as const) : (['x', 'y'] as const)
        const sent = await call('/trpc/messages.create', jsonPost({ message: `kill${i} ${n}`, messageGroupUuid: c.g }, c.tokens[from])) as Output['messages']['create'] | undefined
        if (!sent) continue
        // Every read after the write shows it, for both participants.
        const page = await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[to] }) as Output['messages']['list'] | undefined
        if (page && page.items.at(-1)?.uuid !== sent.message.uuid) failures.push(`kill${i}: messages.list misses ${n}`)
        for (const who of ['x', 'y'] as const) {
          const groups = await call(q('messageGroups.list'), { token: c.tokens[who] }) as Output['messageGroups']['list'] | undefined
          if (groups && (groups.items[0]?.uuid !== c.g || groups.items[0].message !== `kill${i} ${n}`)) failures.push(`kill${i}: groups of ${who} miss ${n}`)
        }
        const me = await call(q('users.me'), { token: c.tokens[from] }) as Output['users']['me'] | undefined
        if (me && me.handle !== c[from].handle) failures.push(`kill${i}: users.me is ${me.handle}`)
        const other = await call(q('users.short', { handle: c[to].handle }), { token: c.tokens[from] }) as Output['users']['short'] | undefined
        if (other && other.uuid !== c[to].uuid) failures.push(`kill${i}: users.short is wrong`)
        rounds++
      }
    }
    const running = Promise.all(loops.map(loop))

    t.ok(await waitFor(async () => (await value(app.metrics.cacheHits)) > 0 && rounds >= 2, 10_000), 'the cache serves before the outage')
    t.equal(app.cache.status(), 'up')
    const logged = (msg: string) => logs.count(msg) - before.get(msg)!
    const before = new Map(['cache degraded', 'cache recovered'].map((m) => [m, logs.count(m)]))
    await redis.kill()
    t.ok(await waitFor(() => app.cache.status() === 'degraded', 2000), 'the cache noticed')
    t.equal(await value(app.metrics.redisUp), 0, 'cruddur_redis_up 0')
    const roundsAtKill = rounds
    await sleep(500)
    t.ok(await waitFor(() => rounds >= roundsAtKill + 2, 10_000), 'requests went on while Redis was down')
    await redis.start()
    t.ok(await waitFor(() => app.cache.status() === 'up', 5000), 'back in use by itself')
    const hitsAtRecovery = await value(app.metrics.cacheHits)
    t.ok(await waitFor(async () => (await value(app.metrics.cacheHits)) > hitsAtRecovery, 10_000), 'hits again after the restart, under the same load')
    stop = true
    await running

    t.same(failures.slice(0, 10), [], `no failed, wrong or slow request (of ${latencies.length}; slowest ${max().toFixed(0)} ms)`)
    t.ok(max() < 1000, 'every request under 1 s')
    t.equal(await value(app.metrics.redisUp), 1, 'cruddur_redis_up 1')
    t.equal(logged('cache degraded'), 1, "'cache degraded' logged once for the outage")
    t.equal(logged('cache recovered'), 1, "'cache recovered' logged once")
    t.ok((await redis.client().dbsize()) > 0, 'entries are filled into the restarted Redis')
    // Shutting down is not an outage.
    const degraded = logs.count('cache degraded')
    await app.app.close()
    await app.cache.close()
    t.equal(logs.count('cache degraded'), degraded, "closing the app logs no 'cache degraded'")
  })

  await t.test('entries restored from disk after a restart never hide a write made while Redis was down', async (t) => {
    const redis = await startRedis(t, { appendOnly: true })
    const prefix = 'disk'
    const app = await testApp(t, { backends, redis: { kind: 'single', url: redis.url }, cachePrefix: prefix })
    const c = await conversation(app, 'disk')
    const list = (who: 'x' | 'y') => app.call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[who] })
    const groups = (who: 'x' | 'y') => app.call(q('messageGroups.list'), { token: c.tokens[who] })
    for (const who of ['x', 'y'] as const) {
      await list(who)
      await groups(who)
    }
    const hits = await value(app.metrics.cacheHits)
    t.same(texts(dataOf(await list('x'))), ['disk hello'])
    t.ok((await value(app.metrics.cacheHits)) > hits, 'cached')

    const r = redis.client()
    const msgsKey = `${prefix}:v2:${entities.messages(c.g)}`
    const cached = await r.hget(msgsKey, 'l20')
    t.match(cached, /disk hello/)
    const epoch = (await r.get(`${prefix}:v2:epoch`)) ?? '0'

    await redis.kill()
    t.ok(await waitFor(() => app.cache.status() === 'degraded', 2000))
    const sent = await app.call('/trpc/messages.create', jsonPost({ message: 'while redis was down', messageGroupUuid: c.g }, c.tokens.y))
    t.equal(sent.status, 200, 'a write while Redis is down')
    t.same(texts(dataOf(await list('x'))), ['disk hello', 'while redis was down'], 'read from DynamoDB meanwhile')

    await redis.start()
    t.equal(await r.hget(msgsKey, 'l20'), cached, 'the old entry came back from disk')
    t.ok(await waitFor(() => app.cache.status() === 'up', 5000), 'the cache is back')
    t.ok(Number(await r.get(`${prefix}:v2:epoch`)) > Number(epoch), 'the epoch was bumped')
    for (const who of ['x', 'y'] as const) {
      for (let i = 0; i < 2; i++) {
        t.same(texts(dataOf(await list(who))), ['disk hello', 'while redis was down'], `messages.list of ${who}, read ${i + 1}`)
        const top = (dataOf(await groups(who)) as Output['messageGroups']['list']).items[0]!
        t.same([top.uuid, top.message], [c.g, 'while redis was down'], `messageGroups.list of ${who}, read ${i + 1}`)
      }
    }
    t.match(await r.hget(msgsKey, 'l20'), /while redis was down/, 'refilled with the new page')
  })

  await t.test('a frozen Redis (SIGSTOP): bounded latency, correct answers, then it recovers', async (t) => {
    const redis = await startRedis(t)
    const logs = logCollector()
    const app = await testApp(t, {
      backends,
      redis: { kind: 'single', url: redis.url },
      cachePrefix: 'stop',
      redisCommandTimeoutMs: 100,
      logger: { level: 'info', stream: logs.stream },
    })
    const failures: string[] = []
    const { call, max } = checked(app, failures, 1500)
    const c = await conversation(app, 'stop')
    for (const who of ['x', 'y'] as const) {
      await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[who] })
      await call(q('messageGroups.list'), { token: c.tokens[who] })
      await call(q('users.short', { handle: c.x.handle }), { token: c.tokens[who] })
    }

    t.ok(await waitFor(() => app.cache.status() === 'up', 5000))
    const before = new Map(['cache degraded', 'cache recovered'].map((m) => [m, logs.count(m)]))
    redis.pause()
    try {
      t.same(texts(await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens.x })), ['stop hello'])
      t.equal((await call(q('users.short', { handle: c.y.handle }), { token: c.tokens.x }) as Output['users']['short'] | undefined)?.uuid, c.y.uuid)
      t.equal((await call(q('users.me'), { token: c.tokens.y }) as Output['users']['me'] | undefined)?.uuid, c.y.uuid)
      const sent = await call('/trpc/messages.create', jsonPost({ message: 'while frozen', messageGroupUuid: c.g }, c.tokens.x)) as Output['messages']['create'] | undefined
      t.equal(sent?.message.message, 'while frozen')
      for (const who of ['x', 'y'] as const) {
        t.same(texts(await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[who] })), ['stop hello', 'while frozen'])
        t.equal((await call(q('messageGroups.list'), { token: c.tokens[who] }) as Output['messageGroups']['list'] | undefined)?.items[0]?.message, 'while frozen')
      }
      t.equal(app.cache.status(), 'degraded')
      t.equal(await value(app.metrics.redisUp), 0)
      await sleep(300) // a few probes time out meanwhile
    } finally {
      redis.resume()
    }
    t.same(failures, [], `every request answered in time (slowest ${max().toFixed(0)} ms)`)
    t.ok(max() < 1500)

    t.ok(await waitFor(() => app.cache.status() === 'up', 5000), 'recovered after SIGCONT')
    for (const who of ['x', 'y'] as const) {
      for (let i = 0; i < 2; i++) {
        t.same(texts(await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[who] })), ['stop hello', 'while frozen'])
        t.equal((await call(q('messageGroups.list'), { token: c.tokens[who] }) as Output['messageGroups']['list'] | undefined)?.items[0]?.message, 'while frozen')
      }
    }
    const hits = await value(app.metrics.cacheHits)
    await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens.x })
    t.ok((await value(app.metrics.cacheHits)) > hits, 'hits again')
    t.equal(logs.count('cache degraded') - before.get('cache degraded')!, 1, "'cache degraded' once for the stall")
    t.equal(logs.count('cache recovered') - before.get('cache recovered')!, 1, "'cache recovered' once")
  })

  await t.test('Redis down from the start: every procedure answers; when it appears, the cache starts by itself', async (t) => {
    const { port, release } = await unreachablePort(t)
    const app = await testApp(t, { backends, redis: { kind: 'single', url: `redis://127.0.0.1:${port}` }, cachePrefix: 'never' })
    t.equal(app.cache.status(), 'degraded')
    t.equal(await value(app.metrics.redisUp), 0, 'cruddur_redis_up 0')
    const failures: string[] = []
    const { call, max } = checked(app, failures, 1000)
    const c = await conversation(app, 'never')
    t.equal((await call(q('users.me'), { token: c.tokens.x }) as Output['users']['me'] | undefined)?.uuid, c.x.uuid)
    t.equal((await call(q('users.short', { handle: c.y.handle }), { token: c.tokens.x }) as Output['users']['short'] | undefined)?.uuid, c.y.uuid)
    await call('/trpc/messages.create', jsonPost({ message: 'no cache at all', messageGroupUuid: c.g }, c.tokens.y))
    for (const who of ['x', 'y'] as const) {
      t.same(texts(await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens[who] })), ['never hello', 'no cache at all'])
      t.equal((await call(q('messageGroups.list'), { token: c.tokens[who] }) as Output['messageGroups']['list'] | undefined)?.items[0]?.message, 'no cache at all')
    }
    t.same(failures, [], `all answered (slowest ${max().toFixed(0)} ms)`)
    const ready = await app.call('/ready')
    t.equal(ready.status, 200, 'ready without Redis')
    t.equal((ready.body as { cache: string }).cache, 'degraded', '/ready reports the cache degraded')
    t.equal(await value(app.metrics.cacheHits), 0)

    await release()
    await startRedis(t, { port })
    t.ok(await waitFor(() => app.cache.status() === 'up', 6000), 'the cache came up when Redis did')
    for (let i = 0; i < 2; i++) {
      t.same(texts(await call(q('messages.list', { messageGroupUuid: c.g }), { token: c.tokens.x })), ['never hello', 'no cache at all'])
    }
    t.ok((await value(app.metrics.cacheHits, { entity: 'messages' })) >= 1, 'and serves hits')
    t.equal(((await app.call('/ready')).body as { cache: string }).cache, 'up')
  })
})
