// One instance loses Redis while another keeps it. Writes of the degraded instance must still reach
// Redis when they can: the other instance is serving from it. Two cache backends (each with its own
// client, as two app instances have) over one real redis-server.
import t from 'tap'
import type { UserShort } from '@cruddur/contracts'
import type { Redis } from 'ioredis'
import { cachedReads } from '../../../server/cache/cached-reads.js'
import { createRedisCache } from '../../../server/cache/redis-cache.js'
import { createRedisClient } from '../../../server/cache/redis-client.js'
import { createMetrics } from '../../../server/metrics.js'
import { directReads } from '../../../server/services/reads.js'
import { type TestBackends, testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { silentLogger, sleep, value, waitFor } from './cache-utils.js'

async function conversation(b: TestBackends, tag: string) {
  const add = async (h: string): Promise<UserShort> => {
    const u = await b.users.add({ handle: h, displayName: h, email: `${h}@example.test` })
    return { uuid: u.uuid, handle: u.handle, displayName: u.displayName }
  }
  const [x, y] = [await add(`${tag}_x`), await add(`${tag}_y`)]
  const g = await b.store.conversationFor(x.uuid, y.uuid)
  await b.store.postMessage({ groupUuid: g, sender: x, recipient: y, text: 'old' })
  return { x, y, g }
}

t.test('one instance degraded, another up', async (t) => {
  const redis = await startRedis(t)
  const b = await testBackends(t)
  const instance = (commandTimeoutMs: number) => {
    const client = createRedisClient({ redis: { kind: 'single', url: redis.url }, redisCommandTimeoutMs: commandTimeoutMs })!
    const metrics = createMetrics()
    const cache = createRedisCache({ client, prefix: 'partial', ttlSeconds: 600, log: silentLogger(), metrics })
    t.teardown(() => cache.close())
    return { client: client as Redis, cache, metrics, reads: cachedReads(directReads(b.users, b.store), cache, metrics) }
  }
  // A gives up on a command after 100 ms, B after 1 s: a 300 ms stall degrades A only.
  const a = instance(100)
  const other = instance(1000)
  t.ok(await waitFor(() => a.cache.status() === 'up' && other.cache.status() === 'up', 20_000), 'both instances up')
  const texts = async (g: string) => (await other.reads.listMessages(g, { limit: 20 })).items.map((m) => m.message)

  await t.test('one slow answer is no outage: A keeps its cache', async (t) => {
    const { g } = await conversation(b, 'once')
    const errors = await value(a.metrics.redisErrors)
    redis.pause()
    const stalled = a.reads.listMessages(g, { limit: 20 })
    await sleep(300)
    redis.resume()
    t.same((await stalled).items.map((m) => m.message), ['old'], 'answered from DynamoDB')
    t.equal(await value(a.metrics.redisErrors), errors + 1, 'one command timed out')
    t.equal(a.cache.status(), 'up', 'A still uses Redis')
  })

  await t.test('a command of A timed out (Redis slow, not gone): A\'s writes still invalidate', async (t) => {
    const { x, y, g } = await conversation(b, 'slow')
    t.same(await texts(g), ['old'], 'B has the page cached')
    redis.pause()
    // Three reads in a row time out: A stops asking Redis (one alone would not degrade it).
    const stalled = Promise.all([1, 2, 3].map((limit) => a.reads.listMessages(g, { limit })))
    await sleep(300)
    redis.resume()
    for (const page of await stalled) t.same(page.items.map((m) => m.message), ['old'], 'A answered from DynamoDB')
    t.equal(a.cache.status(), 'degraded', 'A is degraded')
    t.equal(other.cache.status(), 'up', 'B is not')

    await b.store.postMessage({ groupUuid: g, sender: y, recipient: x, text: 'new' })
    await a.reads.messagePosted(g, [x.uuid, y.uuid])
    t.same(await texts(g), ['old', 'new'], 'B does not serve the page from before A\'s acknowledged write')
    t.ok(await waitFor(() => a.cache.status() === 'up', 10_000), 'A recovers')
  })

  await t.test('A lost its connection: B shows A\'s write once A is back (the epoch bump)', async (t) => {
    const { x, y, g } = await conversation(b, 'blip')
    t.same(await texts(g), ['old'])
    const errors = await value(a.metrics.redisErrors)
    a.client.disconnect(true) // the connection drops; ioredis reconnects
    await b.store.postMessage({ groupUuid: g, sender: y, recipient: x, text: 'new' })
    await a.reads.messagePosted(g, [x.uuid, y.uuid]) // cannot reach Redis: remembered
    t.ok((await value(a.metrics.redisErrors)) > errors, 'the failed invalidation is counted')
    // Until A is back, B may still serve the old page: nothing can tell B without Redis.
    t.ok(await waitFor(() => a.cache.status() === 'up', 10_000), 'A reconnects and recovers')
    t.same(await texts(g), ['old', 'new'], 'then B shows the write')
  })
})
