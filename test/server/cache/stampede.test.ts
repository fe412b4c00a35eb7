// Thundering herd: many concurrent misses of one key read the source once per instance (single
// flight), and about once in all across instances sharing one Redis (the lease).
import t from 'tap'
import { cachedReads } from '../../../server/cache/cached-reads.js'
import { createMemoryCache } from '../../../server/cache/memory-cache.js'
import { createMetrics } from '../../../server/metrics.js'
import { directReads } from '../../../server/services/reads.js'
import { type TestBackends, testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { gatedReads, redisBackend, value } from './cache-utils.js'

async function conversation(b: TestBackends, tag: string, messages: number) {
  const [x, y] = await Promise.all(
    ['x', 'y'].map(async (s) => {
      const u = await b.users.add({ handle: `${tag}_${s}`, displayName: `${tag} ${s}`, email: `${tag}_${s}@example.test` })
      return { uuid: u.uuid, handle: u.handle, displayName: u.displayName }
    }),
  )
  const g = await b.store.conversationFor(x!.uuid, y!.uuid)
  for (let i = 0; i < messages; i++) await b.store.postMessage({ groupUuid: g, sender: x!, recipient: y!, text: `${tag} ${i}` })
  return { g, x: x!, y: y! }
}

t.test('stampede', async (t) => {
  const redis = await startRedis(t)
  const b = await testBackends(t)
  const N = 50

  for (const kind of ['redis', 'memory'] as const) {
    await t.test(`${kind}: ${N} concurrent misses of one key on one instance read the source once`, async (t) => {
      const metrics = createMetrics()
      const gate = gatedReads(directReads(b.users, b.store))
      gate.setDelay(50) // a slow source keeps the herd together
      const cache =
        kind === 'redis'
          ? await redisBackend(t, { redis: { kind: 'single', url: redis.url }, prefix: `herd-${kind}`, metrics })
          : createMemoryCache({ ttlSeconds: 600 })
      const reads = cachedReads(gate.source, cache, metrics)
      const { g, x } = await conversation(b, `herd_${kind}`, 3)

      const pages = await Promise.all(Array.from({ length: N }, () => reads.listMessages(g, { limit: 20 })))
      t.equal(gate.reads.listMessages, 1, 'exactly one source read')
      t.ok(pages.every((p) => JSON.stringify(p) === JSON.stringify(pages[0])), 'everyone got the same page')
      t.equal(pages[0]!.items.length, 3)
      t.equal(await value(metrics.cacheMisses, { entity: 'messages' }), N, 'every request missed')
      t.equal(await value(metrics.cacheFills, { entity: 'messages' }), 1, 'one fill')

      // The same for a list of conversations, and afterwards everyone hits.
      const lists = await Promise.all(Array.from({ length: N }, () => reads.listGroups(x.uuid, { limit: 20 })))
      t.equal(gate.reads.listGroups, 1)
      t.ok(lists.every((l) => l.items.length === 1))
      await Promise.all(Array.from({ length: N }, () => reads.listMessages(g, { limit: 20 })))
      t.equal(gate.reads.listMessages, 1, 'then all hits')
      t.equal(await value(metrics.cacheHits, { entity: 'messages' }), N)
    })
  }

  await t.test(`redis: two instances, ${N} concurrent misses in all, read the source about once`, async (t) => {
    const prefix = 'herd-two'
    const gate = gatedReads(directReads(b.users, b.store))
    gate.setDelay(100)
    const instances = await Promise.all(
      [0, 1].map(async () => {
        const metrics = createMetrics()
        const cache = await redisBackend(t, { redis: { kind: 'single', url: redis.url }, prefix, metrics })
        // Separate single-flight maps, one shared source counter.
        return { metrics, reads: cachedReads(gate.source, cache, metrics) }
      }),
    )
    const { g } = await conversation(b, 'herd_two', 4)
    const pages = await Promise.all(Array.from({ length: N }, (_, i) => instances[i % 2]!.reads.listMessages(g, { limit: 20 })))
    t.ok(gate.reads.listMessages >= 1 && gate.reads.listMessages <= 2, `source reads: ${gate.reads.listMessages} (<= 2)`)
    t.ok(pages.every((p) => JSON.stringify(p) === JSON.stringify(pages[0])), 'everyone got the same page')
    t.equal(pages[0]!.items.length, 4)
    const fills = (await value(instances[0]!.metrics.cacheFills)) + (await value(instances[1]!.metrics.cacheFills))
    t.equal(fills, 1, 'one fill in all')
  })
})
