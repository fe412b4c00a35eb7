import t from 'tap'
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { SEED_USERS, seedConversation, seedUsers } from '../../../server/data/seed.js'
import { testBackends } from '../../helpers/backends.js'

t.test('seedUsers adds the three users once', async (t) => {
  const b = await testBackends(t, { seed: false })
  t.same(await seedUsers(b.users), ['andrewbrown', 'bayko', 'londo'])
  t.same(await seedUsers(b.users), [], 'a second run adds nothing')
  const all = await b.users.list()
  t.same(all.map((u) => u.handle).sort(), ['andrewbrown', 'bayko', 'londo'])
  for (const seed of SEED_USERS) {
    const u = await b.users.findByHandle(seed.handle)
    t.equal(u?.displayName, seed.displayName)
    t.equal(u?.cognitoUserId, seed.cognitoUserId, 'a fixed sub, so local tokens map to the user')
  }
  t.equal(new Set(SEED_USERS.map((u) => u.cognitoUserId)).size, SEED_USERS.length, 'distinct subs')

  // Only the missing ones come back, and a user someone already created is left alone.
  await b.sql`delete from users where handle = 'londo'`
  t.same(await seedUsers(b.users), ['londo'])
  t.equal((await b.users.list()).length, 3)
})

t.test('seedConversation refuses to run before the users exist', async (t) => {
  const b = await testBackends(t, { seed: false })
  await t.rejects(seedConversation(b.store, b.users), { message: /seed users missing/ })
})

t.test('seedConversation: about a hundred messages, one minute apart, all in the past', async (t) => {
  const b = await testBackends(t)
  const started = Date.now()
  const first = await seedConversation(b.store, b.users)
  t.equal(first.written, 100)

  const andrew = (await b.users.findByHandle('andrewbrown'))!
  const bayko = (await b.users.findByHandle('bayko'))!
  const londo = (await b.users.findByHandle('londo'))!
  t.equal(first.groupUuid, await b.store.conversationFor(andrew.uuid, bayko.uuid), 'the pair\'s conversation')

  const page = await b.store.listMessages(first.groupUuid, { limit: 100 })
  t.equal(page.items.length, 100)
  t.equal(page.nextCursor, null)
  const times = page.items.map((m) => Date.parse(m.createdAt))
  for (let i = 1; i < times.length; i++) {
    if (times[i]! - times[i - 1]! !== 60_000) {
      t.fail(`messages ${i - 1} and ${i} are not one minute apart`)
      break
    }
  }
  t.ok(times.every((x) => x < started), 'every message lies in the past')
  const last = times.at(-1)!
  t.ok(started - last <= 5 * 60_000, `the last one within the last minutes (${Math.round((started - last) / 1000)} s ago)`)
  t.ok(page.items.every((m) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(m.createdAt)))
  t.same(
    [...new Set(page.items.map((m) => m.handle))].sort(),
    ['andrewbrown', 'bayko'],
    'both of them speak',
  )
  t.ok(page.items.every((m, i) => i === 0 || m.handle !== page.items[i - 1]!.handle), 'taking turns')
  t.ok(page.items.every((m) => m.message.trim().length > 0 && m.message.length <= 1024))

  // A new message sorts after all of the seed (the original's seeds lay in the future and hid it).
  const fresh = await b.store.postMessage({ groupUuid: first.groupUuid, sender: bayko, recipient: andrew, text: 'hello from now' })
  const latest = await b.store.listMessages(first.groupUuid, { limit: 20 })
  t.equal(latest.items.at(-1)?.uuid, fresh.uuid)

  const again = await seedConversation(b.store, b.users)
  t.same(again, { groupUuid: first.groupUuid, written: 0 }, 'a second call writes nothing')
  t.equal((await b.store.listMessages(first.groupUuid, { limit: 100 })).items.length, 100, '100 = 99 of the seed + the new one in the latest window')
  const count = await b.ddb.send(
    new QueryCommand({ TableName: b.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': `MSG#${first.groupUuid}` }, Select: 'COUNT' }),
  )
  t.equal(count.Count, 101)

  for (const [me, other] of [
    [andrew, bayko],
    [bayko, andrew],
  ] as const) {
    const groups = await b.store.listGroups(me.uuid, { limit: 20 })
    t.equal(groups.items.length, 1, `${me.handle} has the conversation once`)
    t.equal(groups.items[0]?.uuid, first.groupUuid)
    t.equal(groups.items[0]?.handle, other.handle, 'showing the other participant')
    t.equal(groups.items[0]?.message, 'hello from now')
  }
  t.same((await b.store.listGroups(londo.uuid, { limit: 20 })).items, [], 'londo is in no conversation')
})

t.test('seedConversation takes a message count and a clock', async (t) => {
  const b = await testBackends(t)
  const now = new Date('2026-01-01T00:00:00.000Z')
  const { groupUuid, written } = await seedConversation(b.store, b.users, { messages: 30, now })
  t.equal(written, 30)
  const page = await b.store.listMessages(groupUuid, { limit: 100 })
  t.equal(page.items.length, 30)
  t.equal(page.items.at(-1)?.createdAt, '2025-12-31T23:58:00.000Z', 'the last one two minutes before "now"')
  t.equal(page.items[0]?.createdAt, '2025-12-31T23:29:00.000Z')
  t.match(page.items.at(-1)?.message, /\(round 2\)$/, 'lines repeat with a round number')
})
