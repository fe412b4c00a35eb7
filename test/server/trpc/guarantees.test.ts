// The guarantees of API.md over HTTP: read-your-writes across two instances that share the table
// and Redis; no lost or duplicated message, and one group per participant, under concurrent sends.
import t from 'tap'
import type { Config } from '../../../server/config.js'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { addUser, expectResult, jsonPost, q, type Output } from './wire.js'

const REDIS: Config['redis'] = { kind: 'single', url: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' }

t.test('read your writes across two instances sharing the table and Redis', async (t) => {
  const backends = await testBackends(t)
  const cachePrefix = `rw-${Math.random().toString(36).slice(2)}`
  const a = await testApp(t, { backends, redis: REDIS, cachePrefix })
  const b = await testApp(t, { backends, redis: REDIS, cachePrefix })
  // Each instance has its own signing key: a token is for the instance that trusts it.
  const ta = { andrew: await a.token('andrewbrown'), bayko: await a.token('bayko'), londo: await a.token('londo') }
  const tb = { andrew: await b.token('andrewbrown'), bayko: await b.token('bayko'), londo: await b.token('londo') }

  // Warm B's (shared) cache with both participants' lists before and between writes.
  expectResult(t, await b.call(q('messageGroups.list'), { token: tb.andrew }))
  expectResult(t, await b.call(q('messageGroups.list'), { token: tb.bayko }))

  let group = ''
  for (let round = 0; round < 6; round++) {
    const [writer, wTokens, reader, rTokens] = round % 2 ? [b, tb, a, ta] : [a, ta, b, tb]
    const from = round % 3 === 2 ? 'bayko' : 'andrew'
    const text = `round ${round} from ${from}`
    const body = group ? { message: text, messageGroupUuid: group } : { message: text, handle: 'bayko' }
    const created = expectResult(t, await writer.call('/trpc/messages.create', jsonPost(body, wTokens[from])), text) as Output['messages']['create']
    group = created.messageGroupUuid
    // Immediately, through the other instance, for both participants.
    for (const who of ['andrew', 'bayko'] as const) {
      const groups = expectResult(t, await reader.call(q('messageGroups.list'), { token: rTokens[who] }), `${who} groups`) as Output['messageGroups']['list']
      t.equal(groups.items[0]?.uuid, group, `${text}: ${who} sees the conversation at the top`)
      t.equal(groups.items[0]?.message, text, `${text}: ${who} sees it as the last message`)
      t.equal(groups.items[0]?.createdAt, created.message.createdAt, `${text}: with its time`)
      t.equal(groups.items.filter((g: { uuid: string }) => g.uuid === group).length, 1, `${text}: once in ${who}'s list`)
      const msgs = expectResult(t, await reader.call(q('messages.list', { messageGroupUuid: group }), { token: rTokens[who] }), `${who} messages`) as Output['messages']['list']
      t.same(msgs.items.at(-1), created.message, `${text}: ${who} reads the message last`)
      // A page size not read before, and the first page with limit 1.
      const one = expectResult(t, await reader.call(q('messages.list', { messageGroupUuid: group, limit: 1 }), { token: rTokens[who] })) as Output['messages']['list']
      t.equal(one.items[0]?.uuid, created.message.uuid)
    }
  }

  // A second conversation moves to the top of bayko's list on both instances, then the first returns.
  const other = expectResult(t, await a.call('/trpc/messages.create', jsonPost({ message: 'londo here', handle: 'bayko' }, ta.londo))) as Output['messages']['create']
  const top = expectResult(t, await b.call(q('messageGroups.list'), { token: tb.bayko })) as Output['messageGroups']['list']
  t.same(top.items.map((g: { uuid: string }) => g.uuid), [other.messageGroupUuid, group], 'newest conversation first, each once')
  expectResult(t, await b.call('/trpc/messages.create', jsonPost({ message: 'back to andrew', messageGroupUuid: group }, tb.bayko)))
  const again = expectResult(t, await a.call(q('messageGroups.list'), { token: ta.bayko })) as Output['messageGroups']['list']
  t.same(again.items.map((g: { uuid: string }) => g.uuid), [group, other.messageGroupUuid], 'the answered conversation is back on top')
  t.equal(again.items[0]!.message, 'back to andrew')
})

t.test('30 concurrent creates over HTTP to one conversation', async (t) => {
  const backends = await testBackends(t)
  const cachePrefix = `cc-${Math.random().toString(36).slice(2)}`
  const a = await testApp(t, { backends, redis: REDIS, cachePrefix })
  const b = await testApp(t, { backends, redis: REDIS, cachePrefix })
  await addUser(a, 'racer', 'Racer')
  const tokens = {
    a: { racer: await a.token('racer'), londo: await a.token('londo') },
    b: { racer: await b.token('racer'), londo: await b.token('londo') },
  }
  const start = expectResult(t, await a.call('/trpc/messages.create', jsonPost({ message: 'start', handle: 'londo' }, tokens.a.racer))) as Output['messages']['create']
  const group = start.messageGroupUuid
  // Readers keep the caches busy while the writes land.
  const N = 30
  const reads: Promise<unknown>[] = []
  const sends = Array.from({ length: N }, (_, i) => {
    const inst = i % 2 ? b : a
    const tok = i % 2 ? tokens.b : tokens.a
    const sender = i % 3 ? tok.racer : tok.londo
    reads.push(inst.call(q('messageGroups.list'), { token: i % 2 ? tok.londo : tok.racer }))
    const body = i % 5 === 0 ? { message: `c${i}`, handle: i % 3 ? 'londo' : 'racer' } : { message: `c${i}`, messageGroupUuid: group }
    return inst.call('/trpc/messages.create', jsonPost(body, sender))
  })
  const results = await Promise.all(sends)
  await Promise.all(reads)
  const created = results.map((r, i) => expectResult(t, r, `c${i}`) as Output['messages']['create'])
  t.ok(created.every((c) => c.messageGroupUuid === group), 'every create landed in the one conversation')

  const all = expectResult(t, await b.call(q('messages.list', { messageGroupUuid: group, limit: 100 }), { token: tokens.b.londo })) as Output['messages']['list']
  t.equal(all.items.length, N + 1, 'all acknowledged messages listed')
  t.equal(new Set(all.items.map((m: { uuid: string }) => m.uuid)).size, N + 1, 'each exactly once')
  t.same(
    new Set(all.items.map((m: { message: string }) => m.message)),
    new Set(['start', ...Array.from({ length: N }, (_, i) => `c${i}`)]),
    'every text present',
  )
  const times = all.items.map((m: { createdAt: string }) => m.createdAt)
  t.same(times, [...times].sort(), 'oldest to newest')
  const latest = all.items.at(-1)!

  // Paging through the whole conversation, via the other instance, gives the same set.
  const paged: string[] = []
  let cursor: string | null = null
  do {
    const page: { items: { uuid: string }[]; nextCursor: string | null } = expectResult(
      t,
      await a.call(q('messages.list', { messageGroupUuid: group, limit: 7, ...(cursor ? { cursor } : {}) }), { token: tokens.a.racer }),
    ) as Output['messages']['list']
    paged.unshift(...page.items.map((m) => m.uuid))
    cursor = page.nextCursor
  } while (cursor)
  t.same(paged, all.items.map((m: { uuid: string }) => m.uuid), 'paging back from the latest page yields every message once, in order')

  for (const [inst, tok] of [[a, tokens.a], [b, tokens.b]] as const) {
    for (const who of ['racer', 'londo'] as const) {
      const groups = expectResult(t, await inst.call(q('messageGroups.list'), { token: tok[who] })) as Output['messageGroups']['list']
      t.equal(groups.items.filter((g: { uuid: string }) => g.uuid === group).length, 1, `${who}: the conversation once`)
      t.equal(groups.items.length, 1, `${who}: only one conversation`)
      t.equal(groups.items[0]!.message, latest.message, `${who}: with the latest message`)
      t.equal(groups.items[0]!.createdAt, latest.createdAt, `${who}: and its time`)
      t.equal(groups.items[0]!.handle, who === 'racer' ? 'londo' : 'racer', `${who}: named by the other participant`)
    }
  }
})

t.test('concurrent first messages of a new pair, from both sides, make one conversation', async (t) => {
  const app = await testApp(t)
  await addUser(app, 'alpha')
  await addUser(app, 'omega')
  const [alpha, omega] = [await app.token('alpha'), await app.token('omega')]
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      app.call('/trpc/messages.create', jsonPost({ message: `hello ${i}`, handle: i % 2 ? 'alpha' : '@OMEGA' }, i % 2 ? omega : alpha)),
    ),
  )
  const groups = new Set(results.map((r, i) => (expectResult(t, r, `hello ${i}`) as Output['messages']['create']).messageGroupUuid))
  t.equal(groups.size, 1, 'one conversation for the pair')
  for (const token of [alpha, omega]) {
    const list = expectResult(t, await app.call(q('messageGroups.list'), { token })) as Output['messageGroups']['list']
    t.equal(list.items.length, 1, 'each sees it once')
  }
  const msgs = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: [...groups][0] }), { token: alpha })) as Output['messages']['list']
  t.equal(msgs.items.length, 10, 'no message lost')
})
