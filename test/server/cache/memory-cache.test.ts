// The in-process cache (no Redis): the same lease semantics for one instance, and the same
// cache-aside behaviour over HTTP: hits, invalidation of both lists and the messages, read-your-writes.
import t from 'tap'
import { createMemoryCache } from '../../../server/cache/memory-cache.js'
import { testApp } from '../../helpers/app.js'
import { addUser, dataOf, jsonPost, q, type Output } from '../trpc/wire.js'
import { sleep, value } from './cache-utils.js'

t.test('leases, fills, invalidation, expiry and eviction', async (t) => {
  const cache = createMemoryCache({ ttlSeconds: 0.2, leaseMs: 50, maxEntities: 3 })
  const ref = { entity: 'e1', field: 'f' }
  t.equal(cache.status(), 'in-process')
  t.same(await cache.lookup(ref), { miss: '0' })

  const token = await cache.acquire(ref)
  t.type(token, 'string')
  t.equal(await cache.acquire(ref), false, 'one lease at a time')
  t.equal(await cache.fill(ref, 'not-mine', '0', 'x'), false, 'a fill needs the lease')
  t.equal(await cache.fill(ref, token as string, '0', 'v1'), true)
  t.same(await cache.lookup(ref), { hit: 'v1' })
  t.equal(await cache.fill(ref, token as string, '0', 'again'), false, 'a lease fills once')

  // A write between acquire and fill voids the lease.
  const other = { entity: 'e1', field: 'g' }
  const t2 = (await cache.acquire(other)) as string
  await cache.invalidate(['e1'])
  t.same(await cache.lookup(ref), { miss: '0' }, 'the whole entity is gone')
  t.equal(await cache.fill(other, t2, '0', 'stale'), false, 'the stale fill is refused')
  const t3 = (await cache.acquire(other)) as string
  t.type(t3, 'string', 'a new lease after the invalidation')
  t.equal(await cache.fill(other, t2, '0', 'stale'), false, 'the old token stays refused')
  t.equal(await cache.fill(other, t3, '0', 'fresh'), true)

  // A lease runs out; a released one is free at once.
  const e2 = { entity: 'e2', field: 'f' }
  const t4 = (await cache.acquire(e2)) as string
  t.equal(await cache.acquire(e2), false)
  await sleep(70)
  const t5 = await cache.acquire(e2)
  t.type(t5, 'string', 'taken over after leaseMs')
  t.equal(await cache.fill(e2, t4, '0', 'late'), false, 'the expired holder cannot fill')
  await cache.release(e2, t5 as string)
  t.type(await cache.acquire(e2), 'string', 'released: free at once')

  // Entities expire after the TTL.
  const t6 = (await cache.acquire({ entity: 'e3', field: 'f' })) as string
  t.equal(await cache.fill({ entity: 'e3', field: 'f' }, t6, '0', 'short-lived'), true)
  t.same(await cache.lookup({ entity: 'e3', field: 'f' }), { hit: 'short-lived' })
  await sleep(220)
  t.same(await cache.lookup({ entity: 'e3', field: 'f' }), { miss: '0' }, 'expired')

  // Bounded: beyond maxEntities the oldest goes, with its leases.
  const small = createMemoryCache({ ttlSeconds: 60, maxEntities: 2 })
  const tok = (await small.acquire({ entity: 'a', field: 'f' })) as string
  await small.acquire({ entity: 'b', field: 'f' })
  await small.acquire({ entity: 'c', field: 'f' })
  t.equal(await small.fill({ entity: 'a', field: 'f' }, tok, '0', 'evicted'), false, 'the evicted entity cannot be filled')
  t.same(await small.lookup({ entity: 'a', field: 'f' }), { miss: '0' })
  await small.close()
  await cache.close()
})

t.test('over HTTP without Redis: hits, invalidation on every write, read-your-writes', async (t) => {
  const app = await testApp(t)
  t.equal(app.cache.status(), 'in-process')
  t.equal(((await app.call('/ready')).body as { cache: string }).cache, 'in-process', '/ready reports the in-process cache')
  const [x, y, z] = [await addUser(app, 'mem_x'), await addUser(app, 'mem_y'), await addUser(app, 'mem_z')]
  const tokens = { x: await app.token(x.handle), y: await app.token(y.handle), z: await app.token(z.handle) }
  const data = async (path: string, init: Parameters<typeof app.call>[1]) => {
    const res = await app.call(path, init)
    t.equal(res.status, 200, `${path.slice(0, 50)}: 200`)
    return dataOf(res)
  }
  const hits = (entity: string) => value(app.metrics.cacheHits, { entity })
  const started = (await data('/trpc/messages.create', jsonPost({ message: 'first', handle: y.handle }, tokens.x))) as Output['messages']['create']
  const g = started.messageGroupUuid
  const messages = async (who: 'x' | 'y') => ((await data(q('messages.list', { messageGroupUuid: g }), { token: tokens[who] })) as Output['messages']['list']).items
  const groups = async (who: 'x' | 'y' | 'z') => ((await data(q('messageGroups.list'), { token: tokens[who] })) as Output['messageGroups']['list']).items

  await messages('x')
  await groups('x')
  await groups('y')
  const [m0, g0] = [await hits('messages'), await hits('groups')]
  t.same((await messages('y')).map((m) => m.message), ['first'])
  t.equal((await groups('x'))[0]!.message, 'first')
  t.equal((await groups('y'))[0]!.message, 'first')
  t.equal(await hits('messages'), m0 + 1, 'messages hit')
  t.equal(await hits('groups'), g0 + 2, 'both lists hit')
  await data(q('users.short', { handle: y.handle }), { token: tokens.x })
  const u0 = await hits('user')
  await data(q('users.short', { handle: y.handle.toUpperCase() }), { token: tokens.x })
  t.ok((await hits('user')) > u0, 'users by handle hit')

  // Each write: the next reads of both participants show it, the conversation on top.
  const inv = await value(app.metrics.cacheInvalidations)
  for (let i = 0; i < 4; i++) {
    const [from, to] = i % 2 ? (['x', 'y'] as const) : (['y', 'x'] as const)
    const sent = (await data('/trpc/messages.create', jsonPost({ message: `reply ${i}`, messageGroupUuid: g }, tokens[from]))) as Output['messages']['create']
    for (const who of [to, from]) {
      t.equal((await messages(who)).at(-1)!.uuid, sent.message.uuid, `messages of ${who} after reply ${i}`)
      const top = (await groups(who))[0]!
      t.same([top.uuid, top.message, top.createdAt], [g, `reply ${i}`, sent.message.createdAt], `groups of ${who} after reply ${i}`)
    }
  }
  t.equal(await value(app.metrics.cacheInvalidations), inv + 4 * 3, 'three entities per write')

  // A new conversation by handle appears at the top of both lists at once.
  t.same(await groups('z'), [])
  const fresh = (await data('/trpc/messages.create', jsonPost({ message: 'hi from z', handle: x.handle }, tokens.z))) as Output['messages']['create']
  t.same((await groups('x')).map((i) => i.uuid), [fresh.messageGroupUuid, g])
  t.same((await groups('z')).map((i) => [i.handle, i.message]), [[x.handle, 'hi from z']])
  t.ok((await value(app.metrics.cacheStaleFillsRejected)) === 0, 'sequential use: no fill was ever refused')
})
