// The cache on a real 3-master Redis Cluster: procedures, hits, invalidation, read-your-writes, and
// each entity's keys (data hash + lease hash) in one hash slot, so its Lua scripts and DELs are legal.
import t from 'tap'
import type { UserShort } from '@cruddur/contracts'
import { entities } from '../../../server/cache/cache-backend.js'
import { cachedReads } from '../../../server/cache/cached-reads.js'
import { createMetrics } from '../../../server/metrics.js'
import { directReads } from '../../../server/services/reads.js'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedisCluster } from '../../helpers/redis-server.js'
import { addUser, dataOf, jsonPost, q, type Output } from '../trpc/wire.js'
import { gatedReads, logCollector, redisBackend, value } from './cache-utils.js'

t.test('Redis Cluster', async (t) => {
  const cluster = await startRedisCluster(t, 3)
  const backends = await testBackends(t)
  const prefix = 'clu'
  const logs = logCollector()
  const redis = { kind: 'cluster' as const, nodes: cluster.nodes }
  const app = await testApp(t, { backends, redis, cachePrefix: prefix, logger: { level: 'info', stream: logs.stream } })
  const other = await testApp(t, { backends, redis, cachePrefix: prefix, key: app.key })
  t.equal(app.cache.status(), 'up', 'the cache is up on the cluster')
  const inspect = cluster.client()

  /** Every key of the prefix, from every master. */
  const allKeys = async () => (await Promise.all(cluster.servers.map((s) => s.client().keys(`${prefix}:*`)))).flat()
  const slot = (key: string) => inspect.cluster('KEYSLOT', key)

  await t.test('procedures, hits, invalidation and read-your-writes', async (t) => {
    const [x, y] = [await addUser(app, 'clu_x', 'Clu X'), await addUser(app, 'clu_y', 'Clu Y')]
    const tokens = { x: await app.token('clu_x'), y: await app.token('clu_y') }
    const data = async (path: string, init: Parameters<typeof app.call>[1], on = app) => {
      const res = await on.call(path, init)
      t.equal(res.status, 200, `${path.slice(0, 50)}: 200`)
      return dataOf(res)
    }

    t.same(await data(q('users.me'), { token: tokens.x }), { uuid: x.uuid, handle: 'clu_x', displayName: 'Clu X' })
    t.same(await data(q('users.short', { handle: 'CLU_Y' }), { token: tokens.x }), { uuid: y.uuid, handle: 'clu_y', displayName: 'Clu Y' })
    const started = (await data('/trpc/messages.create', jsonPost({ message: 'over the cluster', handle: 'clu_y' }, tokens.x))) as Output['messages']['create']
    const g = started.messageGroupUuid
    for (let i = 0; i < 2; i++) {
      for (const who of ['x', 'y'] as const) {
        t.same(((await data(q('messages.list', { messageGroupUuid: g }), { token: tokens[who] })) as Output['messages']['list']).items.map((m) => m.message), ['over the cluster'])
        t.equal(((await data(q('messageGroups.list'), { token: tokens[who] })) as Output['messageGroups']['list']).items[0]!.message, 'over the cluster')
      }
    }
    await data(q('users.short', { handle: 'clu_y' }), { token: tokens.x })
    for (const entity of ['messages', 'groups', 'user']) {
      t.ok((await value(app.metrics.cacheHits, { entity })) > 0, `hits of ${entity}`)
    }
    // The other instance hits what the first filled (users and memberships included).
    await data(q('users.me'), { token: tokens.y }, other)
    await data(q('messages.list', { messageGroupUuid: g }), { token: tokens.y }, other)
    t.equal(await value(other.metrics.cacheMisses), 0, 'the other instance: no miss')
    t.ok((await value(other.metrics.cacheHits, { entity: 'user' })) >= 1)
    t.ok((await value(other.metrics.cacheHits, { entity: 'messages' })) >= 1)

    // A write through the other instance: both participants see it through the first, at once.
    const reply = (await data('/trpc/messages.create', jsonPost({ message: 'reply via two', messageGroupUuid: g }, tokens.y), other)) as Output['messages']['create']
    for (const who of ['x', 'y'] as const) {
      const page = (await data(q('messages.list', { messageGroupUuid: g }), { token: tokens[who] })) as Output['messages']['list']
      t.same(page.items.at(-1), reply.message, `messages.list of ${who}: read your write`)
      const top = ((await data(q('messageGroups.list'), { token: tokens[who] })) as Output['messageGroups']['list']).items[0]!
      t.same([top.uuid, top.message], [g, 'reply via two'])
    }
    t.equal(await value(other.metrics.cacheInvalidations), 3)

    const keys = await allKeys()
    t.ok(keys.length > 0)
    t.same(keys.filter((k) => !k.startsWith(`${prefix}:v2:`)), [], 'every key namespaced and versioned')
    const ofConversation = keys.filter((k) => k.includes(`{c:${g}}`))
    t.ok(ofConversation.length >= 2, `the conversation's keys: ${ofConversation.join(', ')}`)
    const slots = new Set(await Promise.all([...ofConversation, `${prefix}:v2:${entities.messages(g)}:lease`].map(slot)))
    t.equal(slots.size, 1, "a conversation's keys share one slot")

    t.equal(app.cache.status(), 'up', 'still up: no command failed on the cluster')
    t.equal(await value(app.metrics.redisErrors), 0, 'no Redis error')
    t.equal(await value(other.metrics.redisErrors), 0)
    t.equal(logs.count('cache degraded'), 0, 'never degraded')
  })

  await t.test('every entity: its data and lease hashes exist together, in one slot', async (t) => {
    const metrics = createMetrics()
    const gate = gatedReads(directReads(backends.users, backends.store))
    const cache = await redisBackend(t, { redis, prefix: 'clu-lease', metrics })
    const reads = cachedReads(gate.source, cache, metrics)
    const u = (await backends.users.findByHandle('andrewbrown'))!
    const v = (await backends.users.findByHandle('londo'))!
    const [us, vs] = [u, v].map((w) => ({ uuid: w.uuid, handle: w.handle, displayName: w.displayName })) as [UserShort, UserShort]
    const g = await backends.store.conversationFor(us.uuid, vs.uuid)
    await backends.store.postMessage({ groupUuid: g, sender: us, recipient: vs, text: 'lease check' })

    // While a read is held between its lease and its fill, the lease hash exists.
    const cases: [string, keyof typeof gate.source, () => Promise<unknown>][] = [
      [entities.messages(g), 'listMessages', () => reads.listMessages(g, { limit: 20 })],
      [entities.groups(us.uuid), 'listGroups', () => reads.listGroups(us.uuid, { limit: 20 })],
      [entities.participants(g), 'otherParticipant', () => reads.otherParticipant(g, us.uuid)],
      [entities.userBySub(u.cognitoUserId!), 'userBySub', () => reads.userBySub(u.cognitoUserId!)],
      [entities.userByHandle('LONDO'), 'userByHandle', () => reads.userByHandle('londo')],
    ]
    for (const [entity, method, read] of cases) {
      const held = gate.hold(method)
      const reading = read()
      await held.loaded
      const lease = `clu-lease:v2:${entity}:lease`
      const dataKey = `clu-lease:v2:${entity}`
      t.equal(await inspect.exists(lease), 1, `${entity}: lease hash while the read is held`)
      held.release()
      t.ok(await reading, `${entity}: read`)
      t.equal(await inspect.exists(dataKey), 1, `${entity}: filled`)
      t.equal(await slot(lease), await slot(dataKey), `${entity}: data and lease in one slot`)
    }
    t.equal(await value(metrics.cacheFills), cases.length, 'every read filled')
    t.equal(await value(metrics.redisErrors), 0, 'no Redis error (no CROSSSLOT)')
    t.equal(cache.status(), 'up')
  })
})
