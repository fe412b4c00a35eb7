import t from 'tap'
import {
  decodeCursor,
  encodeCursor,
  ForeignCursorError,
  groupItem,
  groupPk,
  isGroupItem,
  messageItem,
  messagePk,
  messageSk,
  otherOf,
  ownerOf,
  skTimestamp,
  toApiTimestamp,
  toMessage,
  toMessageGroup,
} from '../../../server/data/ddb-items.js'

const A = { uuid: '0b1f6e0e-1111-4a4a-8a8a-000000000001', handle: 'andrewbrown', displayName: 'Andrew Brown' }
const B = { uuid: '0b1f6e0e-2222-4a4a-8a8a-000000000002', handle: 'bayko', displayName: 'Andrew Bayko' }
const GROUP = '5ae290ed-55d1-47a0-bc6d-fe2bc2700399'
const MESSAGE = '018f3a2b-7c4d-7e5f-8a9b-0c1d2e3f4a5b'

t.test('toApiTimestamp: every form the table holds becomes UTC with milliseconds and Z', async (t) => {
  const cases: [string, string, string][] = [
    ['ours', '2026-11-27T18:00:00.000Z', '2026-11-27T18:00:00.000Z'],
    ['ours, other millis', '2026-01-02T03:04:05.678Z', '2026-01-02T03:04:05.678Z'],
    ["the original's microseconds and +00:00", '2023-03-12T00:00:00.123456+00:00', '2023-03-12T00:00:00.123Z'],
    ['an offset east of UTC', '2023-03-12T05:30:00.000000+05:30', '2023-03-12T00:00:00.000Z'],
    ['an offset west of UTC', '2023-03-11T19:00:00-05:00', '2023-03-12T00:00:00.000Z'],
    ['an offset without a colon', '2023-03-12T05:30:00+0530', '2023-03-12T00:00:00.000Z'],
    ['an offset crossing the year', '2023-01-01T01:00:00.5+02:00', '2022-12-31T23:00:00.500Z'],
    ['no fraction', '2023-03-12T10:20:30Z', '2023-03-12T10:20:30.000Z'],
    ['one fraction digit', '2023-03-12T10:20:30.1Z', '2023-03-12T10:20:30.100Z'],
    ['nanoseconds are cut, not rounded', '2023-03-12T10:20:30.9999999Z', '2023-03-12T10:20:30.999Z'],
    ['naive: UTC, as the original wrote it', '2023-03-12T10:20:30.123456', '2023-03-12T10:20:30.123Z'],
    ['naive without fraction', '2023-03-12T10:20:30', '2023-03-12T10:20:30.000Z'],
  ]
  for (const [what, raw, api] of cases) t.equal(toApiTimestamp(raw), api, what)
})

t.test('toApiTimestamp refuses what is not a timestamp', async (t) => {
  for (const raw of ['', 'yesterday', '2023-03-12', '2023-03-12 10:20:30', '2023-13-45T10:20:30Z', '2023-03-12T10:20:30+5']) {
    t.throws(() => toApiTimestamp(raw), { message: /unreadable timestamp/ }, JSON.stringify(raw))
  }
})

t.test('sort keys: ours (<time>#<uuid>) and the original (bare timestamp)', async (t) => {
  t.equal(skTimestamp(`2026-11-27T18:00:00.000Z#${MESSAGE}`), '2026-11-27T18:00:00.000Z')
  t.equal(skTimestamp('2023-05-01T10:00:00.123456+00:00'), '2023-05-01T10:00:00.123Z')
  t.equal(skTimestamp('2023-05-01T10:00:00.123456'), '2023-05-01T10:00:00.123Z')
  t.equal(skTimestamp('2023-05-01T12:00:00+02:00'), '2023-05-01T10:00:00.000Z')

  const sk = messageSk('2026-11-27T18:00:00.000Z', MESSAGE)
  t.equal(sk, `2026-11-27T18:00:00.000Z#${MESSAGE}`)
  // Same millisecond, different messages: different keys (the original overwrote one with the other).
  const other = messageSk('2026-11-27T18:00:00.000Z', '018f3a2b-7c4d-7e5f-8a9b-0c1d2e3f4a5c')
  t.not(sk, other)
  t.ok(sk < other, 'time-ordered uuids order messages of one millisecond')
  // Later time sorts later whatever the uuid.
  t.ok(messageSk('2026-11-27T18:00:00.001Z', '00000000-0000-7000-8000-000000000000') > other)
})

t.test('item layout: the original attribute names and prefixes', async (t) => {
  t.equal(groupPk(A.uuid), `GRP#${A.uuid}`)
  t.equal(messagePk(GROUP), `MSG#${GROUP}`)

  const m = messageItem(GROUP, A, MESSAGE, messageSk('2026-11-27T18:00:00.000Z', MESSAGE), 'hello')
  t.same(m, {
    pk: `MSG#${GROUP}`,
    sk: `2026-11-27T18:00:00.000Z#${MESSAGE}`,
    message_uuid: MESSAGE,
    message: 'hello',
    user_uuid: A.uuid,
    user_display_name: A.displayName,
    user_handle: A.handle,
  })
  t.notOk('message_group_uuid' in m, 'message items stay out of the sparse index')
  t.same(toMessage(m), { uuid: MESSAGE, handle: 'andrewbrown', displayName: 'Andrew Brown', message: 'hello', createdAt: '2026-11-27T18:00:00.000Z' })

  // A's view of the conversation shows B.
  const g = groupItem(A.uuid, B, GROUP, m.sk, 'hello')
  t.same(g, {
    pk: `GRP#${A.uuid}`,
    sk: m.sk,
    message_group_uuid: GROUP,
    message: 'hello',
    user_uuid: B.uuid,
    user_display_name: B.displayName,
    user_handle: B.handle,
  })
  t.same(toMessageGroup(g), { uuid: GROUP, handle: 'bayko', displayName: 'Andrew Bayko', message: 'hello', createdAt: '2026-11-27T18:00:00.000Z' })
  t.equal(ownerOf(g), A.uuid)
  t.same(otherOf(g), B)

  t.ok(isGroupItem(g as unknown as Record<string, unknown>))
  t.notOk(isGroupItem(m as unknown as Record<string, unknown>), 'a message item is not a group item')
  t.notOk(isGroupItem({ pk: `GRP#${A.uuid}`, sk: 'x' }), 'a group partition without message_group_uuid')
  t.notOk(isGroupItem({ pk: 42, message_group_uuid: GROUP }))
})

t.test('items the original wrote read with API timestamps', async (t) => {
  const legacyGroup = {
    pk: `GRP#${A.uuid}`,
    sk: '2023-05-01T10:00:00.123456+00:00',
    message_group_uuid: GROUP,
    message: 'from 2023',
    user_uuid: B.uuid,
    user_display_name: B.displayName,
    user_handle: B.handle,
  }
  t.equal(toMessageGroup(legacyGroup).createdAt, '2023-05-01T10:00:00.123Z')
  const legacyMessage = {
    pk: `MSG#${GROUP}`,
    sk: '2023-05-01T10:00:00.123456+00:00',
    message_uuid: MESSAGE,
    message: 'from 2023',
    user_uuid: B.uuid,
    user_display_name: B.displayName,
    user_handle: B.handle,
  }
  t.equal(toMessage(legacyMessage).createdAt, '2023-05-01T10:00:00.123Z')
})

t.test('cursors: a round trip gives back the position', async (t) => {
  const keys = [
    { pk: messagePk(GROUP), sk: messageSk('2026-11-27T18:00:00.000Z', MESSAGE) },
    { pk: groupPk(A.uuid), sk: '2023-05-01T10:00:00.123456+00:00' },
  ]
  for (const key of keys) {
    const cursor = encodeCursor(key)
    t.type(cursor, 'string')
    t.match(cursor, /^[A-Za-z0-9._-]+$/, 'URL-safe')
    t.ok(cursor.length <= 512, 'fits the contract\'s cursor length')
    t.same(decodeCursor(cursor, key.pk), key)
  }
})

t.test('cursors: another partition, garbage or tampering is a ForeignCursorError', async (t) => {
  const key = { pk: messagePk(GROUP), sk: messageSk('2026-11-27T18:00:00.000Z', MESSAGE) }
  const cursor = encodeCursor(key)
  const body = cursor.slice(cursor.indexOf('.') + 1)
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const bad: [string, string][] = [
    ['another conversation', encodeCursor({ pk: messagePk('7c1e8f1a-0000-4000-8000-000000000000'), sk: key.sk })],
    ['a group list instead of a conversation', encodeCursor({ pk: groupPk(A.uuid), sk: key.sk })],
    ['empty', ''],
    ['garbage', 'garbage'],
    ['a version alone', 'c1.'],
    ['another version', `c2.${body}`],
    ['no version', body],
    ['not base64 JSON', 'c1.!!!!'],
    ['JSON but not a pair', `c1.${b64({ pk: key.pk, sk: key.sk })}`],
    ['three elements', `c1.${b64([key.pk, key.sk, 'x'])}`],
    ['a number as sort key', `c1.${b64([key.pk, 5])}`],
    ['an empty sort key', `c1.${b64([key.pk, ''])}`],
    ['an oversized sort key', `c1.${b64([key.pk, 'x'.repeat(201)])}`],
    ['a tampered body', `c1.${body.slice(0, -4)}AAAA`],
    ['a raw LastEvaluatedKey', JSON.stringify(key)],
  ]
  for (const [what, c] of bad) {
    t.throws(() => decodeCursor(c, key.pk), ForeignCursorError, what)
  }
  try {
    decodeCursor('garbage', key.pk)
  } catch (err) {
    t.equal((err as Error).name, 'ForeignCursorError')
    t.notMatch((err as Error).message, key.pk, 'does not echo the partition')
  }
})
