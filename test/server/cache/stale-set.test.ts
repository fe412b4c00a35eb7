// The stale-set race of cache-aside, made deterministic: a reader's source read is paused AFTER it
// read the old value, a write lands and invalidates, and the reader's fill must be refused. Run on
// the Redis backend (a real redis-server) and on the in-process backend.
import t, { type Test } from 'tap'
import type { UserShort } from '@cruddur/contracts'
import { type CacheBackend, entities } from '../../../server/cache/cache-backend.js'
import { cachedReads } from '../../../server/cache/cached-reads.js'
import { createMemoryCache } from '../../../server/cache/memory-cache.js'
import { createMetrics, type Metrics } from '../../../server/metrics.js'
import { directReads } from '../../../server/services/reads.js'
import { type TestBackends, testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { gatedReads, redisBackend, settle, spiedBackend, value } from './cache-utils.js'

type Make = (t: Test, metrics: Metrics, prefix: string) => Promise<CacheBackend>

/** Two fresh users of the test's own (each case has its own conversation). */
async function pair(b: TestBackends, tag: string): Promise<[UserShort, UserShort]> {
  const add = async (h: string) => {
    const u = await b.users.add({ handle: h, displayName: `User ${h}`, email: `${h}@example.test` })
    return { uuid: u.uuid, handle: u.handle, displayName: u.displayName }
  }
  return [await add(`${tag}_x`), await add(`${tag}_y`)]
}

const texts = (page: { items: { message: string }[] }) => page.items.map((m) => m.message)

t.test('the stale-set race', async (t) => {
  const redis = await startRedis(t)
  const b = await testBackends(t)

  const backends: [string, Make][] = [
    ['redis', (t, metrics, prefix) => redisBackend(t, { redis: { kind: 'single', url: redis.url }, prefix, metrics })],
    ['memory', () => Promise.resolve(createMemoryCache({ ttlSeconds: 600 }))],
  ]

  for (const [kind, make] of backends) {
    await t.test(`${kind}: a fill that raced a write is refused, and the next read shows the write`, async (t) => {
      const metrics = createMetrics()
      const gate = gatedReads(directReads(b.users, b.store))
      const cache = await make(t, metrics, `stale-${kind}-1`)
      const reads = cachedReads(gate.source, cache, metrics)
      const [a, c] = await pair(b, `${kind}_race`)
      const g = await b.store.conversationFor(a.uuid, c.uuid)
      await b.store.postMessage({ groupUuid: g, sender: a, recipient: c, text: `${kind} first` })
      const page = { limit: 20 }

      // The reader misses, takes the lease and reads the old page, then stalls before its fill.
      const held = gate.hold('listMessages')
      const reader = reads.listMessages(g, page)
      t.same(texts((await held.loaded) as Parameters<typeof texts>[0]), [`${kind} first`], 'the reader holds the old page')

      // A writer: DynamoDB acknowledges, then the cache drops the conversation.
      await b.store.postMessage({ groupUuid: g, sender: c, recipient: a, text: `${kind} second` })
      await reads.messagePosted(g, [a.uuid, c.uuid])

      // The reader resumes: it answers what it read (it started before the write), but its fill is refused.
      held.release()
      t.same(texts(await reader), [`${kind} first`])
      t.equal(await value(metrics.cacheStaleFillsRejected, { entity: 'messages' }), 1, 'cruddur_cache_stale_fills_rejected_total + 1')
      t.equal(await value(metrics.cacheFills, { entity: 'messages' }), 0, 'nothing stored')
      if (kind === 'redis') {
        const r = redis.client()
        t.equal(await r.exists(`stale-redis-1:v2:${entities.messages(g)}`), 0, 'no entry in Redis')
      }

      // The next read misses, reads the new page and fills; the one after hits it.
      t.same(texts(await reads.listMessages(g, page)), [`${kind} first`, `${kind} second`])
      t.equal(await value(metrics.cacheFills, { entity: 'messages' }), 1)
      const hits = await value(metrics.cacheHits, { entity: 'messages' })
      t.same(texts(await reads.listMessages(g, page)), [`${kind} first`, `${kind} second`])
      t.equal(await value(metrics.cacheHits, { entity: 'messages' }), hits + 1, 'then a hit, of the new page')
      t.equal(gate.reads.listMessages, 2, 'two source reads in all')

      // The same race on a participant's list of conversations.
      const heldGroups = gate.hold('listGroups')
      const groupsReader = reads.listGroups(c.uuid, page)
      const old = (await heldGroups.loaded) as { items: { message: string }[] }
      t.same(texts(old), [`${kind} second`])
      const third = await b.store.postMessage({ groupUuid: g, sender: a, recipient: c, text: `${kind} third` })
      await reads.messagePosted(g, [a.uuid, c.uuid])
      heldGroups.release()
      t.same(texts(await groupsReader), [`${kind} second`])
      t.equal(await value(metrics.cacheStaleFillsRejected, { entity: 'groups' }), 1)
      const groups = await reads.listGroups(c.uuid, page)
      t.same(groups.items.map((x) => [x.uuid, x.message, x.createdAt]), [[g, `${kind} third`, third.createdAt]])
    })

    await t.test(`${kind}: a request that starts after the write never gets an older load's result`, async (t) => {
      const metrics = createMetrics()
      const gate = gatedReads(directReads(b.users, b.store))
      const spy = spiedBackend(await make(t, metrics, `stale-${kind}-2`))
      const reads = cachedReads(gate.source, spy.backend, metrics)
      const [x, y] = await pair(b, `${kind}_join`)
      const g = await b.store.conversationFor(x.uuid, y.uuid)
      await b.store.postMessage({ groupUuid: g, sender: x, recipient: y, text: 'before' })
      const page = { limit: 50 }

      // An older load is in flight, holding the page from before the write.
      const held = gate.hold('listMessages')
      const older = reads.listMessages(g, page)
      await held.loaded

      // The write is acknowledged (stored, then invalidated)...
      const written = await b.store.postMessage({ groupUuid: g, sender: y, recipient: x, text: 'after' })
      await reads.messagePosted(g, [x.uuid, y.uuid])

      // ...then a new request starts: it misses and finds the older load in flight.
      const looked = spy.next((e) => e.startsWith(`lookup ${entities.messages(g)} `))
      const newer = reads.listMessages(g, page)
      await looked
      await settle()
      t.equal(gate.reads.listMessages, 1, 'the new request is waiting on the older load, not reading yet')

      held.release()
      const [olderPage, newerPage] = await Promise.all([older, newer])
      t.same(texts(olderPage), ['before'], 'the older load answers what it read (it started before the write)')
      t.same(texts(newerPage), ['before', 'after'], 'the newer request sees the acknowledged write')
      t.equal(newerPage.items.at(-1)!.uuid, written.uuid)
      t.equal(gate.reads.listMessages, 2, 'so it read the source itself')
      t.same(texts(await reads.listMessages(g, page)), ['before', 'after'], 'and what is cached now is the new page')

      // Without a write in between, joining is fine: concurrent requests share one load.
      await reads.messagePosted(g, [x.uuid, y.uuid])
      const held2 = gate.hold('listMessages')
      const first = reads.listMessages(g, page)
      await held2.loaded
      const looked2 = spy.next((e) => e.startsWith(`lookup ${entities.messages(g)} `))
      const joiner = reads.listMessages(g, page)
      await looked2
      await settle()
      held2.release()
      t.same(await joiner, await first)
      t.equal(gate.reads.listMessages, 3, 'one source read for both')
    })
  }

  await t.test('redis: two instances, a fill of one refused after the other invalidated', async (t) => {
    const prefix = 'stale-two'
    const m1 = createMetrics()
    const m2 = createMetrics()
    const gate = gatedReads(directReads(b.users, b.store))
    const one = cachedReads(gate.source, await redisBackend(t, { redis: { kind: 'single', url: redis.url }, prefix, metrics: m1 }), m1)
    const two = cachedReads(directReads(b.users, b.store), await redisBackend(t, { redis: { kind: 'single', url: redis.url }, prefix, metrics: m2 }), m2)
    const [xs, ys] = await pair(b, 'two')
    const g = await b.store.conversationFor(xs.uuid, ys.uuid)
    await b.store.postMessage({ groupUuid: g, sender: xs, recipient: ys, text: 'old' })

    const held = gate.hold('listMessages')
    const slow = one.listMessages(g, { limit: 20 })
    await held.loaded
    // Instance two writes and invalidates; then reads: the lease of instance one is void, so it reads itself.
    await b.store.postMessage({ groupUuid: g, sender: ys, recipient: xs, text: 'new' })
    await two.messagePosted(g, [xs.uuid, ys.uuid])
    t.same(texts(await two.listMessages(g, { limit: 20 })), ['old', 'new'], 'no wait on a voided lease: the new page')
    t.equal(await value(m2.cacheFills, { entity: 'messages' }), 1, 'instance two filled')
    held.release()
    t.same(texts(await slow), ['old'])
    t.equal(await value(m1.cacheStaleFillsRejected, { entity: 'messages' }), 1, 'instance one was refused')
    t.same(texts(await one.listMessages(g, { limit: 20 })), ['old', 'new'], 'instance one now hits the new page')
    t.equal(await value(m1.cacheHits, { entity: 'messages' }), 1)
  })
})
