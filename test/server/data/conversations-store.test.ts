import t from 'tap'
import { randomUUID } from 'node:crypto'
import type { UserShort } from '@cruddur/contracts'
import { testBackends } from '../../helpers/backends.js'
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { ForeignCursorError } from '../../../server/data/ddb-items.js'

t.test('concurrent messages converge on one group item per participant', async (t) => {
  const b = await testBackends(t)
  const a = (await b.users.findByHandle('andrewbrown'))!
  const c = (await b.users.findByHandle('bayko'))!
  const g = await b.store.conversationFor(a.uuid, c.uuid)
  const N = 50
  const sent = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      b.store.postMessage({ groupUuid: g, sender: i % 2 ? a : c, recipient: i % 2 ? c : a, text: `m${i}` }),
    ),
  )
  const all = await b.store.listMessages(g, { limit: 100 })
  t.equal(all.items.length, N)
  t.equal(new Set(all.items.map((m) => m.uuid)).size, N)
  t.same(all.items.map((m) => m.uuid), [...sent].sort((x, y) => (x.createdAt + x.uuid < y.createdAt + y.uuid ? -1 : 1)).map((m) => m.uuid))
  const last = all.items.at(-1)!
  for (const u of [a, c] as UserShort[]) {
    const groups = await b.store.listGroups(u.uuid, { limit: 20 })
    t.equal(groups.items.length, 1)
    t.equal(groups.items[0]!.message, last.message)
    const raw = await b.ddb.send(new QueryCommand({ TableName: b.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': `GRP#${u.uuid}` } }))
    t.equal(raw.Items?.length, 1, 'exactly one group item remains')
  }
})

// ---------------------------------------------------------------------------------------------------
// Helpers for the tests below.

type Backends = Awaited<ReturnType<typeof testBackends>>

/** A user of the test's own (PostgreSQL), as the store sees users. */
async function newUser(b: Backends, handle: string): Promise<UserShort> {
  const u = await b.users.add({ handle, displayName: `User ${handle}`, email: `${handle}@example.com` })
  return { uuid: u.uuid, handle: u.handle, displayName: u.displayName }
}

async function seedUser(b: Backends, handle: string): Promise<UserShort> {
  const u = (await b.users.findByHandle(handle))!
  return { uuid: u.uuid, handle: u.handle, displayName: u.displayName }
}

/** Every raw item of one partition, as stored. */
async function rawItems(b: Backends, pk: string): Promise<Record<string, string>[]> {
  const out = await b.ddb.send(
    new QueryCommand({ TableName: b.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk }, ConsistentRead: true }),
  )
  return (out.Items ?? []) as Record<string, string>[]
}

/** Posts `count` messages, one second apart from `start`, alternating senders; returns them in order. */
async function postSeries(b: Backends, groupUuid: string, x: UserShort, y: UserShort, count: number, start = Date.now() - count * 1000 - 60_000) {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      b.store.postMessage({
        groupUuid,
        sender: i % 2 ? y : x,
        recipient: i % 2 ? x : y,
        text: `message ${i}`,
        createdAt: new Date(start + i * 1000),
      }),
    ),
  )
}

/** Follows nextCursor from the latest page to the oldest; the pages in the order they came. */
async function allMessagePages(b: Backends, groupUuid: string, limit: number) {
  const pages: Awaited<ReturnType<typeof b.store.listMessages>>[] = []
  let cursor: string | undefined
  do {
    const page = await b.store.listMessages(groupUuid, { limit, cursor })
    pages.push(page)
    cursor = page.nextCursor ?? undefined
  } while (cursor && pages.length < 1000)
  return pages
}

const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

// ---------------------------------------------------------------------------------------------------

t.test('paging a conversation returns every message once, in order, and ends with a null cursor', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'bayko')
  const d = await seedUser(b, 'londo')

  for (const [x, y, count, limit, pagesExpected] of [
    [a, c, 57, 10, 6],
    [a, d, 40, 10, 4],
  ] as const) {
    const g = await b.store.conversationFor(x.uuid, y.uuid)
    const sent = await postSeries(b, g, x, y, count)
    const pages = await allMessagePages(b, g, limit)
    t.equal(pages.length, pagesExpected, `${count} messages by ${limit}: ${pagesExpected} pages`)
    t.same(
      pages.map((p) => p.items.length),
      [...Array<number>(pagesExpected - 1).fill(limit), count - limit * (pagesExpected - 1)],
      'full pages, then the rest (never an empty extra page)',
    )
    t.equal(pages.at(-1)!.nextCursor, null, 'the last page says there is no more')
    t.ok(pages.slice(0, -1).every((p) => typeof p.nextCursor === 'string'), 'every other page has a cursor')
    for (const p of pages) {
      const times = p.items.map((m) => m.createdAt)
      t.same(times, [...times].sort(), 'oldest to newest within a page')
    }
    // The first page holds the latest messages; each cursor leads to older ones.
    const together = [...pages].reverse().flatMap((p) => p.items)
    t.same(together.map((m) => m.uuid), sent.map((m) => m.uuid), 'every message exactly once, in order')
    t.same(together.map((m) => m.message), sent.map((_, i) => `message ${i}`))
    t.ok(together.every((m) => API_TIME.test(m.createdAt)))
  }

  // A limit larger than the conversation: one page, no cursor.
  const g = await b.store.conversationFor(a.uuid, c.uuid)
  const one = await b.store.listMessages(g, { limit: 100 })
  t.equal(one.items.length, 57)
  t.equal(one.nextCursor, null)
  // An empty conversation: nothing, no cursor.
  t.same(await b.store.listMessages('c0ffee00-0000-4000-8000-000000000000', { limit: 20 }), { items: [], nextCursor: null })
})

t.test("a user's conversations: newest first, and a new message moves one to the top", async (t) => {
  const b = await testBackends(t)
  const me = await seedUser(b, 'andrewbrown')
  const others = [await newUser(b, 'first'), await newUser(b, 'second'), await newUser(b, 'third'), await newUser(b, 'fourth')]
  const groups = new Map<string, string>()
  for (const other of others) {
    const g = await b.store.conversationFor(me.uuid, other.uuid)
    groups.set(other.handle, g)
    await b.store.postMessage({ groupUuid: g, sender: other, recipient: me, text: `hi from ${other.handle}` })
  }
  const list = await b.store.listGroups(me.uuid, { limit: 20 })
  t.same(list.items.map((i) => i.handle), ['fourth', 'third', 'second', 'first'])
  t.same(list.items.map((i) => i.message), ['hi from fourth', 'hi from third', 'hi from second', 'hi from first'])
  t.same(list.items.map((i) => i.uuid), ['fourth', 'third', 'second', 'first'].map((h) => groups.get(h)))
  t.equal(list.nextCursor, null)

  // I answer the oldest one: it comes to the top, with my message as its last.
  const reply = await b.store.postMessage({ groupUuid: groups.get('first')!, sender: me, recipient: others[0]!, text: 'hello first' })
  const moved = await b.store.listGroups(me.uuid, { limit: 20 })
  t.same(moved.items.map((i) => i.handle), ['first', 'fourth', 'third', 'second'])
  t.same(moved.items[0], { uuid: groups.get('first'), handle: 'first', displayName: 'User first', message: 'hello first', createdAt: reply.createdAt })
  t.equal((await rawItems(b, `GRP#${me.uuid}`)).length, 4, 'one group item per conversation')

  // The other side sees me, with the same last message.
  const theirs = await b.store.listGroups(others[0]!.uuid, { limit: 20 })
  t.same(theirs.items, [{ uuid: groups.get('first'), handle: 'andrewbrown', displayName: 'Andrew Brown', message: 'hello first', createdAt: reply.createdAt }])

  // Paging the list: 2 + 2, the last page without a cursor.
  const p1 = await b.store.listGroups(me.uuid, { limit: 2 })
  t.same(p1.items.map((i) => i.handle), ['first', 'fourth'])
  t.type(p1.nextCursor, 'string')
  const p2 = await b.store.listGroups(me.uuid, { limit: 2, cursor: p1.nextCursor! })
  t.same(p2.items.map((i) => i.handle), ['third', 'second'])
  t.equal(p2.nextCursor, null)
})

t.test('paging a long conversation list returns each conversation once', async (t) => {
  const b = await testBackends(t)
  const me = await seedUser(b, 'bayko')
  const N = 25
  const others: UserShort[] = []
  for (let i = 0; i < N; i++) others.push(await newUser(b, `friend${String(i).padStart(2, '0')}`))
  const start = Date.now() - 3_600_000
  await Promise.all(
    others.map(async (o, i) =>
      b.store.postMessage({
        groupUuid: await b.store.conversationFor(me.uuid, o.uuid),
        sender: o,
        recipient: me,
        text: `from ${o.handle}`,
        createdAt: new Date(start + i * 1000),
      }),
    ),
  )
  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = await b.store.listGroups(me.uuid, { limit: 10, cursor })
    seen.push(...page.items.map((i) => i.handle))
    cursor = page.nextCursor ?? undefined
    pages++
  } while (cursor && pages < 100)
  t.equal(pages, 3)
  t.same(seen, others.map((o) => o.handle).reverse(), 'newest first, each once')
})

t.test('a cursor of another list is refused', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'bayko')
  const d = await seedUser(b, 'londo')
  const ac = await b.store.conversationFor(a.uuid, c.uuid)
  const ad = await b.store.conversationFor(a.uuid, d.uuid)
  await postSeries(b, ac, a, c, 5)
  await postSeries(b, ad, a, d, 5)

  const page = await b.store.listMessages(ac, { limit: 2 })
  t.type(page.nextCursor, 'string')
  await t.rejects(b.store.listMessages(ad, { limit: 2, cursor: page.nextCursor! }), ForeignCursorError, 'another conversation')
  await t.rejects(b.store.listGroups(a.uuid, { limit: 2, cursor: page.nextCursor! }), ForeignCursorError, 'a message cursor for a group list')
  await t.rejects(b.store.listMessages(ac, { limit: 2, cursor: 'not-a-cursor' }), ForeignCursorError, 'garbage')

  const groups = await b.store.listGroups(a.uuid, { limit: 1 })
  t.type(groups.nextCursor, 'string')
  await t.rejects(b.store.listGroups(c.uuid, { limit: 1, cursor: groups.nextCursor! }), ForeignCursorError, "another user's list")
  await t.rejects(b.store.listMessages(ac, { limit: 1, cursor: groups.nextCursor! }), ForeignCursorError, 'a group cursor for a conversation')
  // The rightful owner can still use both.
  t.equal((await b.store.listMessages(ac, { limit: 2, cursor: page.nextCursor! })).items.length, 2)
  t.equal((await b.store.listGroups(a.uuid, { limit: 1, cursor: groups.nextCursor! })).items.length, 1)
})

t.test('items in the original format read correctly, and a new message moves a legacy conversation', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'bayko')
  const d = await seedUser(b, 'londo')
  const thisYear = new Date().getUTCFullYear()
  const lastYear = thisYear - 1
  const legacy = randomUUID()
  const oldOnly = randomUUID()

  const put = (Item: Record<string, string>) => b.ddb.send(new PutCommand({ TableName: b.table, Item }))
  const legacyMessage = (group: string, sk: string, from: UserShort, text: string) =>
    put({ pk: `MSG#${group}`, sk, message_uuid: randomUUID(), message: text, user_uuid: from.uuid, user_display_name: from.displayName, user_handle: from.handle })
  const legacyGroup = (owner: UserShort, other: UserShort, group: string, sk: string, text: string) =>
    put({ pk: `GRP#${owner.uuid}`, sk, message_group_uuid: group, message: text, user_uuid: other.uuid, user_display_name: other.displayName, user_handle: other.handle })

  // a and c: messages from last year (with the original's microseconds and offsets) and this year (naive).
  const legacySks = [`${lastYear}-05-01T10:00:00.123456+00:00`, `${lastYear}-12-31T23:59:59.999999+00:00`, `${thisYear}-01-01T00:00:00.000001`]
  await legacyMessage(legacy, legacySks[0]!, a, 'last spring')
  await legacyMessage(legacy, legacySks[1]!, c, 'last new year\'s eve')
  await legacyMessage(legacy, legacySks[2]!, a, 'happy new year')
  await legacyGroup(a, c, legacy, legacySks[2]!, 'happy new year')
  await legacyGroup(c, a, legacy, legacySks[2]!, 'happy new year')
  // a and d: a conversation whose last message is from last year only.
  await legacyMessage(oldOnly, `${lastYear}-03-01T08:00:00.5+00:00`, d, 'long ago')
  await legacyGroup(a, d, oldOnly, `${lastYear}-03-01T08:00:00.5+00:00`, 'long ago')
  await legacyGroup(d, a, oldOnly, `${lastYear}-03-01T08:00:00.5+00:00`, 'long ago')

  const messages = await b.store.listMessages(legacy, { limit: 20 })
  t.same(
    messages.items.map((m) => [m.handle, m.message, m.createdAt]),
    [
      ['andrewbrown', 'last spring', `${lastYear}-05-01T10:00:00.123Z`],
      ['bayko', "last new year's eve", `${lastYear}-12-31T23:59:59.999Z`],
      ['andrewbrown', 'happy new year', `${thisYear}-01-01T00:00:00.000Z`],
    ],
    'no year filter; every time as UTC milliseconds with Z',
  )
  t.equal(messages.nextCursor, null)
  const paged = await b.store.listMessages(legacy, { limit: 2 })
  t.same(paged.items.map((m) => m.message), ["last new year's eve", 'happy new year'])
  const older = await b.store.listMessages(legacy, { limit: 2, cursor: paged.nextCursor! })
  t.same(older.items.map((m) => m.message), ['last spring'], 'cursors work on bare-timestamp keys too')
  t.equal(older.nextCursor, null)

  const before = await b.store.listGroups(a.uuid, { limit: 20 })
  t.same(
    before.items.map((g) => [g.uuid, g.handle, g.message, g.createdAt]),
    [
      [legacy, 'bayko', 'happy new year', `${thisYear}-01-01T00:00:00.000Z`],
      [oldOnly, 'londo', 'long ago', `${lastYear}-03-01T08:00:00.500Z`],
    ],
    "this year's and last year's conversations both listed",
  )

  t.equal(await b.store.conversationFor(a.uuid, c.uuid), legacy, 'the existing legacy conversation, not a new one')
  t.equal(await b.store.conversationFor(c.uuid, a.uuid), legacy)
  t.equal(await b.store.conversationFor(d.uuid, a.uuid), oldOnly)
  t.same(await b.store.otherParticipant(legacy, a.uuid), c)
  t.same(await b.store.otherParticipant(legacy, c.uuid), a)
  t.equal(await b.store.otherParticipant(legacy, d.uuid), null)

  // d writes in the last-year conversation: it moves above the legacy one for a, and d sees it too.
  const m1 = await b.store.postMessage({ groupUuid: oldOnly, sender: d, recipient: a, text: 'still there?' })
  t.same((await b.store.listGroups(a.uuid, { limit: 20 })).items.map((g) => g.uuid), [oldOnly, legacy])
  // c answers in the legacy one: it moves back to the top, for both participants.
  const m2 = await b.store.postMessage({ groupUuid: legacy, sender: c, recipient: a, text: 'back again' })
  t.ok(API_TIME.test(m2.createdAt))
  const after = await b.store.listGroups(a.uuid, { limit: 20 })
  t.same(after.items.map((g) => [g.uuid, g.message]), [
    [legacy, 'back again'],
    [oldOnly, 'still there?'],
  ])
  t.equal(after.items[0]!.createdAt, m2.createdAt)
  t.equal(after.items[1]!.createdAt, m1.createdAt)
  t.same((await b.store.listGroups(c.uuid, { limit: 20 })).items.map((g) => [g.uuid, g.handle, g.message]), [[legacy, 'andrewbrown', 'back again']])

  for (const owner of [a, c]) {
    const mine = (await rawItems(b, `GRP#${owner.uuid}`)).filter((i) => i.message_group_uuid === legacy)
    t.equal(mine.length, 1, `one group item of the legacy conversation remains for ${owner.handle}`)
    t.equal(mine[0]!.message, 'back again')
  }
  const all = await b.store.listMessages(legacy, { limit: 20 })
  t.same(all.items.map((m) => m.message), ['last spring', "last new year's eve", 'happy new year', 'back again'])
})

t.test('conversationFor: one uuid per pair, whichever side asks', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'bayko')
  const d = await seedUser(b, 'londo')
  const ac = await b.store.conversationFor(a.uuid, c.uuid)
  t.match(ac, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.equal(await b.store.conversationFor(c.uuid, a.uuid), ac)
  t.equal(await b.store.conversationFor(a.uuid, c.uuid), ac, 'stable')
  const ad = await b.store.conversationFor(a.uuid, d.uuid)
  const cd = await b.store.conversationFor(c.uuid, d.uuid)
  t.equal(new Set([ac, ad, cd]).size, 3, 'different pairs, different conversations')
  // Once started, the stored conversation is the answer.
  await b.store.postMessage({ groupUuid: ac, sender: a, recipient: c, text: 'hi' })
  t.equal(await b.store.conversationFor(c.uuid, a.uuid), ac)
})

t.test('concurrent starts of the same new pair, from both sides, end in one conversation', async (t) => {
  const b = await testBackends(t)
  const p = await newUser(b, 'sheridan')
  const q = await newUser(b, 'delenn')
  const N = 10
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const [sender, recipient] = i % 2 ? [p, q] : [q, p]
      const groupUuid = await b.store.conversationFor(sender.uuid, recipient.uuid)
      const message = await b.store.postMessage({ groupUuid, sender, recipient, text: `start ${i}` })
      return { groupUuid, message }
    }),
  )
  const uuids = new Set(results.map((r) => r.groupUuid))
  t.equal(uuids.size, 1, 'every start chose the same conversation')
  const [g] = uuids
  for (const u of [p, q]) {
    const list = await b.store.listGroups(u.uuid, { limit: 20 })
    t.equal(list.items.length, 1, `${u.handle} sees one conversation`)
    t.equal(list.items[0]!.uuid, g)
    t.equal((await rawItems(b, `GRP#${u.uuid}`)).length, 1, `${u.handle} has one group item`)
  }
  const messages = await b.store.listMessages(g!, { limit: 100 })
  t.equal(messages.items.length, N, 'no start lost its message')
  t.same(new Set(messages.items.map((m) => m.uuid)), new Set(results.map((r) => r.message.uuid)))
})

t.test('otherParticipant: the other member, or null for outsiders and unknown conversations', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'bayko')
  const d = await seedUser(b, 'londo')
  const g = await b.store.conversationFor(a.uuid, c.uuid)
  t.equal(await b.store.otherParticipant(g, a.uuid), null, 'not started yet: nobody is a member')
  await b.store.postMessage({ groupUuid: g, sender: a, recipient: c, text: 'hi' })
  t.same(await b.store.otherParticipant(g, a.uuid), c)
  t.same(await b.store.otherParticipant(g, c.uuid), a)
  t.equal(await b.store.otherParticipant(g, d.uuid), null, 'a non-member')
  t.equal(await b.store.otherParticipant(randomUUID(), a.uuid), null, 'a conversation that does not exist')
})

t.test('80 concurrent messages with random senders: all stored, in order, one current group item each', async (t) => {
  const b = await testBackends(t)
  const a = await seedUser(b, 'andrewbrown')
  const c = await seedUser(b, 'londo')
  const g = await b.store.conversationFor(a.uuid, c.uuid)
  // A small seeded generator: the same "random" senders on every run.
  let seed = 0x2f6b1c3d
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
  const N = 80
  const sent = await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const [sender, recipient] = random() < 0.5 ? [a, c] : [c, a]
      return b.store.postMessage({ groupUuid: g, sender, recipient, text: `burst ${i}` })
    }),
  )
  const senders = new Set(sent.map((m) => m.handle))
  t.same([...senders].sort(), ['andrewbrown', 'londo'], 'both sent')

  const pages = await allMessagePages(b, g, 30)
  const stored = [...pages].reverse().flatMap((p) => p.items)
  t.equal(stored.length, N, 'every acknowledged message stored')
  t.same(new Set(stored.map((m) => m.uuid)), new Set(sent.map((m) => m.uuid)))
  const key = (m: { createdAt: string; uuid: string }) => `${m.createdAt}#${m.uuid}`
  t.same(stored.map(key), sent.map(key).sort(), 'in time order')
  const last = stored.at(-1)!
  for (const u of [a, c]) {
    const raw = await rawItems(b, `GRP#${u.uuid}`)
    t.equal(raw.length, 1, `exactly one group item for ${u.handle}`)
    t.equal(raw[0]!.message, last.message, 'showing the latest message')
    t.equal(raw[0]!.sk, `${last.createdAt}#${last.uuid}`)
    const list = await b.store.listGroups(u.uuid, { limit: 20 })
    t.same(list.items.map((i) => [i.uuid, i.message, i.createdAt]), [[g, last.message, last.createdAt]])
  }
})
