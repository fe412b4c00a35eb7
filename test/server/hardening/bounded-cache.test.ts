// The cache has a ceiling (issue 8, item 2): pages after a cursor are never cached (any sort key of
// one's partition makes a valid cursor), and one conversation or user list keeps at most
// MAX_FIELDS_PER_ENTITY first-page variants, in Redis and in process alike.
import { Redis } from 'ioredis'
import t from 'tap'
import { entities, MAX_FIELDS_PER_ENTITY } from '../../../server/cache/cache-backend.js'
import { testApp } from '../../helpers/app.js'
import { expectResult, jsonPost, q } from '../trpc/wire.js'

/** A cursor of the conversation's own partition at a sort key no item has (valid, and new each time). */
function invented(cursor: string, i: number): string {
  const [pk, sk] = JSON.parse(Buffer.from(cursor.split('.')[1]!, 'base64url').toString('utf8')) as [string, string]
  return `c1.${Buffer.from(JSON.stringify([pk, `${sk}~${String(i)}`])).toString('base64url')}`
}

t.test('Redis: invented cursors store nothing; first-page variants are capped per entity', async (t) => {
  const prefix = `bounded-${Math.random().toString(36).slice(2)}`
  const app = await testApp(t, { redis: { kind: 'single', url: 'redis://127.0.0.1:6379' }, cachePrefix: prefix, redisCommandTimeoutMs: 500 })
  const r = new Redis('redis://127.0.0.1:6379')
  t.teardown(() => {
    r.disconnect()
  })
  const token = await app.token('andrewbrown')
  let group = ''
  for (let i = 0; i < 12; i++) {
    const data = expectResult(t, await app.call('/trpc/messages.create', jsonPost(group ? { message: `m${String(i)}`, messageGroupUuid: group } : { message: `m${String(i)}`, handle: 'bayko' }, token))) as { messageGroupUuid: string }
    group = data.messageGroupUuid
  }
  const first = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 3 }), { token })) as { nextCursor: string }
  const key = `${prefix}:v2:${entities.messages(group)}`
  const before = await r.memory('USAGE', key)
  for (let i = 0; i < 30; i++) {
    const page = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 100, cursor: invented(first.nextCursor, i) }), { token }), `invented ${String(i)}`) as { items: unknown[] }
    t.ok(page.items.length > 0, 'answered from DynamoDB')
  }
  t.same(await r.hkeys(key), ['l3'], 'only the first page is cached')
  t.equal(await r.memory('USAGE', key), before, 'the conversation took no more memory')

  for (const limit of [1, 2, 4, 5, 6, 7, 8, 9, 10]) {
    expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit }), { token }), `limit ${String(limit)}`)
    expectResult(t, await app.call(q('messageGroups.list', { limit }), { token }), `groups limit ${String(limit)}`)
  }
  t.equal(await r.hlen(key), MAX_FIELDS_PER_ENTITY, `at most ${String(MAX_FIELDS_PER_ENTITY)} page variants per conversation`)
  t.equal(await r.hlen(`${prefix}:v2:${(await r.keys(`${prefix}:v2:{u:*}:groups`))[0]!.slice(`${prefix}:v2:`.length)}`), MAX_FIELDS_PER_ENTITY, 'and per user list')
  // Pages past the ceiling are still answered, and still right after a write.
  const extra = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 11 }), { token })) as { items: { message: string }[] }
  t.equal(extra.items.at(-1)?.message, 'm11')
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'newest', messageGroupUuid: group }, token)))
  const after = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 11 }), { token })) as { items: { message: string }[] }
  t.equal(after.items.at(-1)?.message, 'newest', 'read your write past the ceiling')
})

t.test('in process: the same ceiling', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const group = (expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'hi', handle: 'bayko' }, token))) as { messageGroupUuid: string }).messageGroupUuid
  for (const limit of [1, 2, 3, 4, 5, 6, 7]) expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit }), { token }))
  let hits = 0
  for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
    const seen = await app.cache.lookup({ entity: entities.messages(group), field: `l${String(limit)}` })
    if (seen && 'hit' in seen) hits++
  }
  t.equal(hits, MAX_FIELDS_PER_ENTITY, `${String(MAX_FIELDS_PER_ENTITY)} of 7 variants kept`)
})
