// messages.create with a clientMessageId: a repeat by the same sender answers the originally stored
// message and stores nothing, however the first attempt ended (answered, lost after the write, failed
// before it, too late for its place), across instances and with Redis down; the same id for another
// message is CONFLICT. And @cruddur/client sends one with every create and reuses it when it retries.
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { createClient } from '../../../client/src/index.js'
import { type TestApp, testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { injectFault } from '../../helpers/ddb-faults.js'
import { startRedis } from '../../helpers/redis-server.js'
import { expectError, jsonPost, q } from './wire.js'

interface Created {
  messageGroupUuid: string
  message: { uuid: string; message: string; createdAt: string }
}

async function create(app: TestApp, token: string, body: Record<string, unknown>) {
  const res = await app.call('/trpc/messages.create', jsonPost(body, token))
  return { status: res.status, body: res.body as { result?: { data: Created } }, raw: res }
}

/** Every message of a conversation, oldest first (all pages). */
async function allMessages(app: TestApp, token: string, group: string): Promise<Created['message'][]> {
  const items: Created['message'][] = []
  let cursor: string | undefined
  do {
    const res = await app.call(q('messages.list', { messageGroupUuid: group, limit: 100, ...(cursor ? { cursor } : {}) }), { token })
    const data = (res.body as { result: { data: { items: Created['message'][]; nextCursor: string | null } } }).result.data
    items.unshift(...data.items)
    cursor = data.nextCursor ?? undefined
  } while (cursor)
  return items
}

/** The raw items of a conversation's partition, tombstones included. */
async function rawLog(app: TestApp, group: string) {
  const out = await app.backends.ddb.send(
    new QueryCommand({ TableName: app.backends.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': `MSG#${group}` }, ConsistentRead: true }),
  )
  return out.Items ?? []
}

t.test('a repeat answers the first message; another message with the id is CONFLICT', async (t) => {
  const app = await testApp(t)
  const [brown, bayko] = await Promise.all([app.token('andrewbrown'), app.token('bayko')])
  const id = crypto.randomUUID()
  const first = await create(app, brown, { handle: 'bayko', message: 'once', clientMessageId: id })
  t.equal(first.status, 200)
  const group = first.body.result!.data.messageGroupUuid
  const again = await create(app, brown, { handle: '@Bayko', message: 'once', clientMessageId: id })
  t.equal(again.status, 200, 'the repeat succeeds')
  t.same(again.body.result!.data, first.body.result!.data, 'with the very same message (uuid and time)')
  const byGroup = await create(app, brown, { messageGroupUuid: group, message: 'once', clientMessageId: id })
  t.same(byGroup.body.result!.data, first.body.result!.data, 'naming the conversation by uuid is the same message too')
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['once'], 'stored once')

  const changed = await create(app, brown, { messageGroupUuid: group, message: 'twice?', clientMessageId: id })
  expectError(t, changed.raw, 'CONFLICT', 409, 'same id, other text')
  const londoGroup = await create(app, brown, { handle: 'londo', message: 'once', clientMessageId: id })
  expectError(t, londoGroup.raw, 'CONFLICT', 409, 'same id, other conversation')
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['once'], 'nothing stored by the conflicts')

  // Ids belong to their sender: the other participant may use the same one for their own message.
  const theirs = await create(app, bayko, { messageGroupUuid: group, message: 'mine', clientMessageId: id })
  t.equal(theirs.status, 200)
  t.not(theirs.body.result!.data.message.uuid, first.body.result!.data.message.uuid)
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['once', 'mine'])
})

t.test('concurrent repeats store one message and all answer it', async (t) => {
  const app = await testApp(t)
  const brown = await app.token('andrewbrown')
  const group = (await create(app, brown, { handle: 'bayko', message: 'start' })).body.result!.data.messageGroupUuid
  const id = crypto.randomUUID()
  const answers = await Promise.all(Array.from({ length: 20 }, () => create(app, brown, { messageGroupUuid: group, message: 'racing', clientMessageId: id })))
  t.same(answers.map((a) => a.status), Array(20).fill(200))
  t.equal(new Set(answers.map((a) => a.body.result!.data.message.uuid)).size, 1, 'one message uuid in every answer')
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['start', 'racing'], 'stored once')
  // Places reserved by the losers are settled (tombstones), so subscribers never wait for them.
  const raw = await rawLog(app, group)
  t.equal(raw.filter((i) => i.tombstone !== true).length, 2)
  t.same(
    raw.map((i) => i.seq as number).sort((a, b) => a - b),
    Array.from({ length: raw.length }, (_, i) => i + 1),
    'every reserved place holds a message or a tombstone',
  )
})

t.test('the first answer was lost after the write landed: the retry answers it, stored once', async (t) => {
  const app = await testApp(t)
  const brown = await app.token('andrewbrown')
  const group = (await create(app, brown, { handle: 'bayko', message: 'start' })).body.result!.data.messageGroupUuid
  for (const [label, pk] of [
    ['after the message write', 'MSG#'],
    ['after a group item write', 'GRP#'],
  ] as const) {
    const failed = injectFault(app.app.backends.ddb, { phase: 'after', when: (c) => c.command === 'PutItemCommand' && c.pk?.startsWith(pk) === true })
    const id = crypto.randomUUID()
    const first = await create(app, brown, { messageGroupUuid: group, message: `lost ${label}`, clientMessageId: id })
    t.equal(failed(), 1, `the fault hit (${label})`)
    t.equal(first.status, 503, 'the first attempt failed: 503, an outage (retry later)')
    const retry = await create(app, brown, { messageGroupUuid: group, message: `lost ${label}`, clientMessageId: id })
    t.equal(retry.status, 200, 'the retry succeeds')
    const messages = await allMessages(app, brown, group)
    t.equal(messages.filter((m) => m.message === `lost ${label}`).length, 1, 'stored once')
    t.equal(messages.at(-1)!.uuid, retry.body.result!.data.message.uuid, 'the retry answers the stored message')
    // The retry finished what the first attempt left undone: both lists show it on top.
    for (const handle of ['andrewbrown', 'bayko']) {
      const groups = await app.call(q('messageGroups.list', {}), { token: await app.token(handle) })
      const top = (groups.body as { result: { data: { items: { uuid: string; message: string }[] } } }).result.data.items
      t.same(top.map((g) => [g.uuid, g.message]), [[group, `lost ${label}`]], `${handle}'s list shows it once, on top`)
    }
  }
})

t.test('the first attempt died before writing its message: the retry writes it once', async (t) => {
  const app = await testApp(t)
  const brown = await app.token('andrewbrown')
  const group = (await create(app, brown, { handle: 'bayko', message: 'start' })).body.result!.data.messageGroupUuid
  injectFault(app.app.backends.ddb, { phase: 'before', when: (c) => c.command === 'PutItemCommand' && c.pk?.startsWith('MSG#') === true })
  const id = crypto.randomUUID()
  const first = await create(app, brown, { messageGroupUuid: group, message: 'second try', clientMessageId: id })
  t.equal(first.status, 503, 'the first attempt failed: 503')
  const retry = await create(app, brown, { messageGroupUuid: group, message: 'second try', clientMessageId: id })
  t.equal(retry.status, 200)
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['start', 'second try'])
})

t.test('a retry after the reserved place expired moves the message to a new place', async (t) => {
  const app = await testApp(t, { writeWindowMs: 300 })
  const brown = await app.token('andrewbrown')
  const group = (await create(app, brown, { handle: 'bayko', message: 'start' })).body.result!.data.messageGroupUuid
  injectFault(app.app.backends.ddb, { phase: 'before', when: (c) => c.command === 'PutItemCommand' && c.pk?.startsWith('MSG#') === true })
  const id = crypto.randomUUID()
  t.equal((await create(app, brown, { messageGroupUuid: group, message: 'late', clientMessageId: id })).status, 503)
  await new Promise((r) => setTimeout(r, 400))
  const later = await create(app, brown, { messageGroupUuid: group, message: 'in between' })
  t.equal(later.status, 200)
  const retry = await create(app, brown, { messageGroupUuid: group, message: 'late', clientMessageId: id })
  t.equal(retry.status, 200)
  t.same((await allMessages(app, brown, group)).map((m) => m.message), ['start', 'in between', 'late'], 'after the message written meanwhile: it is new now')
  const raw = await rawLog(app, group)
  t.equal(raw.filter((i) => i.tombstone === true).length, 1, 'the expired place holds a tombstone: the first attempt can never fill it')
  const again = await create(app, brown, { messageGroupUuid: group, message: 'late', clientMessageId: id })
  t.same(again.body.result!.data, retry.body.result!.data, 'and later repeats answer the moved message')
})

t.test('repeats hold across instances and with Redis down', async (t) => {
  const redis = await startRedis(t)
  const backends = await testBackends(t)
  const prefix = `idem-${Math.random().toString(36).slice(2)}`
  const options = { backends, redis: { kind: 'single' as const, url: redis.url }, cachePrefix: prefix }
  const a = await testApp(t, options)
  const b = await testApp(t, { ...options, key: a.key })
  const brown = await a.token('andrewbrown')
  const id = crypto.randomUUID()
  const first = await create(a, brown, { handle: 'bayko', message: 'from A', clientMessageId: id })
  await redis.kill()
  const onB = await create(b, brown, { handle: 'bayko', message: 'from A', clientMessageId: id })
  t.equal(onB.status, 200, 'instance B, Redis down')
  t.same(onB.body.result!.data, first.body.result!.data, 'answers the message stored through A')
  t.same((await allMessages(b, brown, first.body.result!.data.messageGroupUuid)).map((m) => m.message), ['from A'])
})

t.test('@cruddur/client sends a clientMessageId and reuses it when it retries', async (t) => {
  const app = await testApp(t)
  const brown = await app.token('andrewbrown')
  const sent: string[] = []
  let dropped = 0
  // The first answer to a create is lost on the way back (the server did store the message).
  const lossy: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    if (init?.method === 'POST') {
      sent.push(typeof init.body === 'string' ? init.body : '')
      if (dropped++ === 0) {
        await res.text()
        throw new TypeError('fetch failed: the connection dropped')
      }
    }
    return res
  }
  const client = createClient({ url: app.url, token: brown, fetch: lossy })
  const created = await client.messages.create.mutate({ handle: 'bayko', message: 'exactly once' })
  t.equal(sent.length, 2, 'sent twice: the first answer was lost')
  const ids = sent.map((b) => (JSON.parse(b) as { clientMessageId?: string }).clientMessageId)
  t.match(ids[0], /^[0-9a-f-]{36}$/, 'with a clientMessageId')
  t.equal(ids[0], ids[1], 'the same one both times')
  t.same((await allMessages(app, brown, created.messageGroupUuid)).map((m) => m.message), ['exactly once'], 'stored once')
  // Two creates with the same text are two messages: each gets its own id.
  await client.messages.create.mutate({ messageGroupUuid: created.messageGroupUuid, message: 'exactly once' })
  t.equal((await allMessages(app, brown, created.messageGroupUuid)).length, 2)
})
