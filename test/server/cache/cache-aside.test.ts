// Cache-aside over HTTP with a real Redis: what is cached, under which keys, and that every write
// drops exactly what it changed, only after DynamoDB acknowledged it.
import t from 'tap'
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb'
import { entities } from '../../../server/cache/cache-backend.js'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { dataOf, jsonPost, q, type Output } from '../trpc/wire.js'
import { value } from './cache-utils.js'

t.test('reads are cached under prefix:v2 keys, and writes invalidate both lists and the messages', async (t) => {
  const redis = await startRedis(t)
  const backends = await testBackends(t)
  const prefix = 'aside'
  const app = await testApp(t, { backends, redis: { kind: 'single', url: redis.url }, cachePrefix: prefix })
  // A second instance on the same cache: what the first cached, it hits (instances may memoize
  // immutable entries in process, so hits of users and memberships are seen from the other one).
  const other = await testApp(t, { backends, redis: { kind: 'single', url: redis.url }, cachePrefix: prefix, key: app.key })
  const r = redis.client()
  const { metrics } = app
  const [andrew, bayko, londo] = (await Promise.all(['andrewbrown', 'bayko', 'londo'].map((h) => app.token(h)))) as [string, string, string]
  const users = Object.fromEntries(
    await Promise.all(['andrewbrown', 'bayko', 'londo'].map(async (h) => [h, (await backends.users.findByHandle(h))!] as const)),
  )
  const ok = async (path: string, init: Parameters<typeof app.call>[1], on = app) => {
    const res = await on.call(path, init)
    t.equal(res.status, 200, `${path.slice(0, 60)}: 200`)
    return dataOf(res)
  }
  const hits = (entity: string, m = metrics) => value(m.cacheHits, { entity })
  const misses = (entity: string) => value(metrics.cacheMisses, { entity })
  const key = (entity: string) => `${prefix}:v2:${entity}`

  // sub -> user: cached by the first call, a hit for the other instance.
  const me = (await ok(q('users.me'), { token: andrew })) as Output['users']['me']
  t.equal(me.handle, 'andrewbrown')
  const subKey = key(entities.userBySub(users.andrewbrown!.cognitoUserId!))
  t.match(await r.hget(subKey, 'v'), /^\d+\|\{.*"handle":"andrewbrown"/, 'user:sub key holds the user')
  t.same(await ok(q('users.me'), { token: andrew }, other), me)
  t.equal(await hits('user', other.metrics), 1, 'the other instance: a hit')
  t.equal(await value(other.metrics.cacheMisses, { entity: 'user' }), 0, 'and no miss')

  // users by handle, any spelling: one entry.
  await ok(q('users.short', { handle: '@BAYKO' }), { token: andrew })
  t.equal(await r.exists(key(entities.userByHandle('BAYKO'))), 1, 'user:handle key, lower case')
  const h0 = await hits('user')
  t.same(await ok(q('users.short', { handle: 'bayko' }), { token: andrew }), { uuid: users.bayko!.uuid, handle: 'bayko', displayName: 'Andrew Bayko' })
  t.ok((await hits('user')) >= h0 + 1, 'the handle hits')

  // A conversation: lists and messages cached after the first read.
  const first = (await ok('/trpc/messages.create', jsonPost({ message: 'one', handle: 'bayko' }, andrew))) as Output['messages']['create']
  const g = first.messageGroupUuid
  const listMessages = (token: string, input: Record<string, unknown> = {}) =>
    ok(q('messages.list', { messageGroupUuid: g, limit: 20, ...input }), { token }) as Promise<Output['messages']['list']>
  const listGroups = (token: string) => ok(q('messageGroups.list'), { token }) as Promise<Output['messageGroups']['list']>

  t.same((await listMessages(andrew)).items.map((m) => m.message), ['one'])
  t.same((await listGroups(andrew)).items.map((x) => x.message), ['one'])
  t.same((await listGroups(bayko)).items.map((x) => x.message), ['one'])
  const [m0, g0] = [await hits('messages'), await hits('groups')]
  t.same((await listMessages(bayko)).items.map((m) => m.message), ['one'])
  t.same((await listGroups(andrew)).items.map((x) => x.message), ['one'])
  t.same((await listGroups(bayko)).items.map((x) => x.message), ['one'])
  t.equal(await hits('messages'), m0 + 1, 'messages.list: hit')
  t.equal(await hits('groups'), g0 + 2, 'messageGroups.list: a hit for each participant')
  t.same(((await ok(q('messages.list', { messageGroupUuid: g }), { token: bayko }, other)) as Output['messages']['list']).items.map((m) => m.message), ['one'])
  t.equal(await hits('participants', other.metrics), 1, 'membership: a hit on the other instance')
  t.equal(await hits('messages', other.metrics), 1, 'messages: a hit on the other instance')

  const msgsKey = key(entities.messages(g))
  const groupKeys = [key(entities.groups(users.andrewbrown!.uuid)), key(entities.groups(users.bayko!.uuid))]
  t.same(await r.hkeys(msgsKey), ['l20'], 'one field per page variant')
  t.match(await r.hget(msgsKey, 'l20'), /^\d+\|\{"result":\{"data":\{"items":\[.*\}\}$/, 'value: <epoch>|<the answer tRPC sends>')
  t.equal(await r.exists(msgsKey, ...groupKeys, key(entities.participants(g))), 4)
  // Every key this app wrote is namespaced and versioned.
  const all = await r.keys('*')
  t.ok(all.length > 0)
  t.same(all.filter((k) => !k.startsWith(`${prefix}:v2:`)), [], `every key under ${prefix}:v2:`)

  // A first page lives in the conversation's hash; the page after it is not cached.
  for (let i = 0; i < 4; i++) await ok('/trpc/messages.create', jsonPost({ message: `more ${i}`, messageGroupUuid: g }, i % 2 ? andrew : bayko))
  const p1 = await listMessages(andrew, { limit: 2 })
  const p2 = await listMessages(andrew, { limit: 2, cursor: p1.nextCursor })
  t.same(p2.items.map((m) => m.message), ['more 0', 'more 1'])
  t.same(await r.hkeys(msgsKey), ['l2'], 'pages after a cursor are read from DynamoDB, never cached (docs/design.md, bounded cache)')

  // A write by either participant drops the conversation's messages and both lists, before it answers.
  const inv0 = await value(metrics.cacheInvalidations)
  await listGroups(andrew)
  await listGroups(bayko)
  await listMessages(andrew)
  t.equal(await r.exists(msgsKey, ...groupKeys), 3, 'all three cached')
  const reply = (await ok('/trpc/messages.create', jsonPost({ message: 'from bayko', messageGroupUuid: g }, bayko))) as Output['messages']['create']
  t.equal(await r.exists(msgsKey, ...groupKeys), 0, 'all three gone once messages.create answered')
  t.equal(await value(metrics.cacheInvalidations), inv0 + 3)
  t.equal(await r.exists(key(entities.participants(g))), 1, 'membership never changes: kept')
  for (const token of [andrew, bayko]) {
    const page = await listMessages(token)
    t.same(page.items.at(-1), reply.message, 'read your write: messages.list')
    const groups = await listGroups(token)
    t.same([groups.items[0]!.uuid, groups.items[0]!.message, groups.items[0]!.createdAt], [g, 'from bayko', reply.message.createdAt], 'at the top')
  }

  // A new conversation started by handle drops both lists too.
  const londoList = await listGroups(londo)
  t.same(londoList.items, [])
  const before = await listGroups(bayko)
  t.equal(before.items.length, 1)
  const started = (await ok('/trpc/messages.create', jsonPost({ message: 'hi bayko, londo here', handle: 'bayko' }, londo))) as Output['messages']['create']
  t.same((await listGroups(londo)).items.map((x) => [x.uuid, x.handle]), [[started.messageGroupUuid, 'bayko']])
  t.same((await listGroups(bayko)).items.map((x) => [x.handle, x.message]), [
    ['londo', 'hi bayko, londo here'],
    ['andrewbrown', 'from bayko'],
  ])
  const andrewAfter = await listGroups(andrew)
  t.same(andrewAfter.items.map((x) => x.handle), ['bayko'], 'a third party is not affected')
  t.ok((await misses('groups')) > 0)

  // A write DynamoDB refuses invalidates nothing: the drop happens only after the write is acknowledged.
  await listMessages(andrew)
  await listGroups(andrew)
  await listGroups(bayko)
  t.equal(await r.exists(msgsKey, ...groupKeys), 3)
  const inv1 = await value(metrics.cacheInvalidations)
  await backends.ddb.send(new DeleteTableCommand({ TableName: backends.table }))
  const failed = await app.call('/trpc/messages.create', jsonPost({ message: 'lost', messageGroupUuid: g }, andrew))
  t.equal(failed.status, 500, 'DynamoDB refused the write')
  t.equal(await r.exists(msgsKey, ...groupKeys), 3, 'nothing was invalidated')
  t.equal(await value(metrics.cacheInvalidations), inv1)
})
