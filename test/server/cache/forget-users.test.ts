import t from 'tap'
import { entities } from '../../../server/cache/cache-backend.js'
import { createCache } from '../../../server/cache/create-cache.js'
import { forgetCachedSubs } from '../../../server/cache/forget-users.js'
import { createMetrics } from '../../../server/metrics.js'

const quiet = { warn() {}, info() {} }
const config = (prefix: string) => ({
  redis: { kind: 'single' as const, url: 'redis://127.0.0.1:6379' },
  redisCommandTimeoutMs: 500,
  cacheTtlSeconds: 60,
  cacheKeyPrefix: prefix,
})

t.test('drops the cached sign-in of a replaced sub from the shared Redis', async (t) => {
  const prefix = `forget-${Math.random().toString(36).slice(2)}`
  const cache = createCache(config(prefix), { log: quiet, metrics: createMetrics() })
  t.teardown(() => cache.close())
  for (let i = 0; i < 100 && cache.status() !== 'up'; i++) await new Promise((r) => setTimeout(r, 20))
  const ref = { entity: entities.userBySub('old-sub'), field: 'v' }
  const other = { entity: entities.userBySub('kept-sub'), field: 'v' }
  for (const r of [ref, other]) {
    const seen = await cache.lookup(r)
    const token = await cache.acquire(r)
    t.ok(seen && 'miss' in seen && token)
    t.ok(await cache.fill(r, token as string, (seen as { miss: string }).miss, '{"uuid":"u"}'))
    t.match(await cache.lookup(r), { hit: '{"uuid":"u"}' })
  }

  t.equal(await forgetCachedSubs(config(prefix), ['old-sub']), 'forgotten')
  t.match(await cache.lookup(ref), { miss: String }, 'the replaced sub is no longer cached')
  t.match(await cache.lookup(other), { hit: '{"uuid":"u"}' }, 'other entries stay')
})

t.test('nothing to do without a shared cache; unreachable Redis is reported', async (t) => {
  t.equal(await forgetCachedSubs({ ...config('x'), redis: { kind: 'memory' } }, ['s']), 'no shared cache')
  t.equal(await forgetCachedSubs({ ...config('x'), redis: { kind: 'single', url: 'redis://127.0.0.1:1' } }, ['s']), 'unreachable')
})
