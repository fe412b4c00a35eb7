// The epoch an instance knows: re-read with lookups at most every 50 ms, so a hit is one Redis
// command, and a bump by another instance (its recovery after a failed invalidation) retires this
// instance's view of older entries within that time.
import { Redis } from 'ioredis'
import t from 'tap'
import type { CacheBackend, EntryRef } from '../../../server/cache/cache-backend.js'
import { createMetrics } from '../../../server/metrics.js'
import { startRedis } from '../../helpers/redis-server.js'
import { redisBackend, sleep } from './cache-utils.js'

const REDIS = { kind: 'single' as const, url: 'redis://127.0.0.1:6379' }

async function fill(cache: CacheBackend, ref: EntryRef, value: string) {
  const seen = await cache.lookup(ref)
  const token = await cache.acquire(ref)
  if (!seen || !('miss' in seen) || !token) throw new Error('expected a miss and a lease')
  if (!(await cache.fill(ref, token, seen.miss, value))) throw new Error('fill refused')
}

/** Redis commands run so far (INFO stats), to count what a lookup costs. */
async function commandsProcessed(raw: Redis): Promise<number> {
  const info = await raw.info('stats')
  return Number(/total_commands_processed:(\d+)/.exec(info)![1])
}

t.test('a bump by another instance is seen within the refresh interval', async (t) => {
  const prefix = `epoch-${Math.random().toString(36).slice(2)}`
  const x = await redisBackend(t, { redis: REDIS, prefix, metrics: createMetrics() })
  const raw = new Redis(REDIS.url)
  t.teardown(() => raw.quit())
  const ref = { entity: '{c:epoch-test}:msgs', field: 'l20' }
  await fill(x, ref, '"cached"')
  t.same(await x.lookup(ref), { hit: '"cached"' })

  // What another instance's recovery does: INCR the epoch.
  await raw.incr(`${prefix}:v2:epoch`)
  await sleep(60)
  t.match(await x.lookup(ref), { miss: String }, 'the entry of the old epoch is no longer a hit')
})

t.test('a hit costs one Redis command between refreshes', async (t) => {
  // A Redis of this test's own: other test files would add to the shared one's command count.
  const own = await startRedis(t)
  const prefix = `epoch-${Math.random().toString(36).slice(2)}`
  const x = await redisBackend(t, { redis: { kind: 'single', url: own.url }, prefix, metrics: createMetrics() })
  const raw = new Redis(own.url)
  t.teardown(() => raw.quit())
  const ref = { entity: '{c:epoch-cost}:msgs', field: 'l20' }
  await fill(x, ref, '"cached"')
  await x.lookup(ref) // refreshes the epoch now
  // Sequential lookups well inside one refresh interval; INFO itself is counted once per call.
  const before = await commandsProcessed(raw)
  for (let i = 0; i < 10; i++) t.same(await x.lookup(ref), { hit: '"cached"' })
  const used = (await commandsProcessed(raw)) - before - 1
  t.ok(used >= 10 && used <= 12, `10 hits took ${used} commands (at most one epoch refresh among them)`)
})

t.test('an entry filled under a newer epoch than ours is a hit, and teaches us the epoch', async (t) => {
  const prefix = `epoch-${Math.random().toString(36).slice(2)}`
  const x = await redisBackend(t, { redis: REDIS, prefix, metrics: createMetrics() })
  const y = await redisBackend(t, { redis: REDIS, prefix, metrics: createMetrics() })
  const raw = new Redis(REDIS.url)
  t.teardown(() => raw.quit())
  const ref = { entity: '{c:epoch-newer}:msgs', field: 'l20' }
  const older = { entity: '{c:epoch-older}:msgs', field: 'l20' }
  await fill(x, older, '"old epoch"')
  await x.lookup(older) // x's epoch is fresh now
  await raw.incr(`${prefix}:v2:epoch`)
  await sleep(60)
  await fill(y, ref, '"new epoch"') // y reads the new epoch while missing
  t.same(await x.lookup(ref), { hit: '"new epoch"' }, 'a newer entry is served')
  t.match(await x.lookup(older), { miss: String }, 'and entries of the older epoch are not')
})
