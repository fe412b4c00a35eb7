// The two guarantees of issue 8, item 8, each with a test that fails without it:
// (a) messages.create answers only after its cache invalidation finished (read-your-writes across
//     instances rests on that await in server/services/conversations-service.ts);
// (b) a failed invalidation marks the epoch for a bump (`missedInvalidation` in
//     server/cache/redis-cache.ts), which matters for an instance whose Redis holds entries it never
//     saw (filled by another instance) when its invalidation failed.
import t from 'tap'
import { generateKeyPair } from '../../../server/auth/keys.js'
import { testApp } from '../../helpers/app.js'
import { wrappedCache } from '../../helpers/cache.js'
import { testBackends } from '../../helpers/backends.js'
import { tcpProxy } from '../../helpers/tcp-proxy.js'
import { expectResult, jsonPost, q } from '../trpc/wire.js'

const REDIS = { kind: 'single' as const, url: 'redis://127.0.0.1:6379' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The cache, with every invalidation taking `ms` longer. */
const slowInvalidation = (ms: number) =>
  wrappedCache({
    invalidate: async (cache, names) => {
      await sleep(ms)
      await cache.invalidate(names)
    },
  })

interface Page {
  items: { message: string }[]
}

t.test('(a) read through the other instance the moment create answers: the write is there', async (t) => {
  const backends = await testBackends(t)
  const key = generateKeyPair()
  const prefix = `rywa-${Math.random().toString(36).slice(2)}`
  const writer = await testApp(t, { backends, key, redis: REDIS, cachePrefix: prefix, redisCommandTimeoutMs: 500, wrapCache: slowInvalidation(400) })
  const reader = await testApp(t, { backends, key, redis: REDIS, cachePrefix: prefix, redisCommandTimeoutMs: 500 })
  const [andrew, bayko] = [await writer.token('andrewbrown'), await writer.token('bayko')]
  const group = (expectResult(t, await writer.call('/trpc/messages.create', jsonPost({ message: 'first', handle: 'bayko' }, andrew))) as { messageGroupUuid: string }).messageGroupUuid
  for (let round = 0; round < 3; round++) {
    // The reader's cache holds both lists and the conversation's first page.
    for (let i = 0; i < 2; i++) {
      expectResult(t, await reader.call(q('messages.list', { messageGroupUuid: group }), { token: bayko }))
      expectResult(t, await reader.call(q('messageGroups.list'), { token: bayko }))
    }
    const text = `round ${String(round)}`
    expectResult(t, await writer.call('/trpc/messages.create', jsonPost({ message: text, messageGroupUuid: group }, andrew)), `create ${text}`)
    const [messages, groups] = await Promise.all([
      reader.call(q('messages.list', { messageGroupUuid: group }), { token: bayko }),
      reader.call(q('messageGroups.list'), { token: bayko }),
    ])
    t.equal((expectResult(t, messages) as Page).items.at(-1)?.message, text, `${text}: messages.list through the other instance shows it`)
    t.equal((expectResult(t, groups) as Page).items[0]?.message, text, `${text}: messageGroups.list through the other instance shows it`)
  }
})

t.test("(b) an invalidation that failed on an instance that never saw Redis's entries bumps the epoch", async (t) => {
  const backends = await testBackends(t)
  const key = generateKeyPair()
  const prefix = `missed-${Math.random().toString(36).slice(2)}`
  const proxy = await tcpProxy(t, { host: '127.0.0.1', port: 6379 })
  // The other instance fills Redis; this one starts with Redis out of its reach.
  const other = await testApp(t, { backends, key, redis: REDIS, cachePrefix: prefix, redisCommandTimeoutMs: 500 })
  const token = await other.token('andrewbrown')
  const group = (expectResult(t, await other.call('/trpc/messages.create', jsonPost({ message: 'before', handle: 'bayko' }, token))) as { messageGroupUuid: string }).messageGroupUuid
  for (let i = 0; i < 2; i++) expectResult(t, await other.call(q('messages.list', { messageGroupUuid: group }), { token }), 'cached by the other instance')
  proxy.cut()
  const lonely = await testApp(t, { backends, key, redis: { kind: 'single', url: `redis://${proxy.host}:${String(proxy.port)}` }, cachePrefix: prefix, redisCommandTimeoutMs: 500 })
  t.equal(lonely.cache.status(), 'degraded', 'this instance has never reached Redis')
  // Its write lands in DynamoDB; its invalidation cannot reach Redis.
  expectResult(t, await lonely.call('/trpc/messages.create', jsonPost({ message: 'while cut off', messageGroupUuid: group }, token)), 'create while cut off')
  proxy.restore()
  for (let i = 0; i < 100 && lonely.cache.status() !== 'up'; i++) await sleep(50)
  t.equal(lonely.cache.status(), 'up', 'Redis reached')
  for (const [label, app] of [['this instance', lonely], ['the other instance', other]] as const) {
    await sleep(100) // past the epoch refresh interval
    const page = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group }), { token })) as Page
    t.equal(page.items.at(-1)?.message, 'while cut off', `${label} reads the write, not the entry from before it`)
  }
})
