// One messages.create costs a small constant number of DynamoDB calls, however many are sent into one
// conversation at once (docs/design.md states the count), and the group items still converge on one
// per participant showing the latest message. Counted on the server's own DynamoDB client.
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { countCalls } from '../../helpers/ddb-calls.js'

/** Calls per create, at most: see the header of server/data/message-writer.ts. */
const PER_CREATE = 10
const PER_CREATE_WITH_ID = 12

t.test('DynamoDB calls per create stay constant with 1, 10 and 100 concurrent creates', { timeout: 240_000 }, async (t) => {
  const app = await testApp(t)
  const calls = countCalls(app.app.backends.ddb)
  const tokens = { andrewbrown: await app.token('andrewbrown'), bayko: await app.token('bayko') }
  const create = async (token: string, body: Record<string, unknown>) => {
    const res = await app.call('/trpc/messages.create', {
      method: 'POST',
      token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    t.equal(res.status, 200, `create answers 200 (${JSON.stringify(res.body).slice(0, 200)})`)
    return res.body as { result: { data: { messageGroupUuid: string; message: { message: string } } } }
  }
  const started = await create(tokens.andrewbrown, { handle: 'bayko', message: 'hello' })
  const group = started.result.data.messageGroupUuid
  // Warm: the membership lookups are cached after one create each way.
  await create(tokens.bayko, { messageGroupUuid: group, message: 'hi' })
  await create(tokens.andrewbrown, { messageGroupUuid: group, message: 'warm' })

  const costs: Record<string, number> = {}
  for (const withId of [false, true]) {
    for (const n of [1, 10, 100]) {
      calls.reset()
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          create(i % 2 ? tokens.bayko : tokens.andrewbrown, {
            messageGroupUuid: group,
            message: `${withId ? 'id' : 'plain'} ${n}/${i}`,
            ...(withId ? { clientMessageId: crypto.randomUUID() } : {}),
          }),
        ),
      )
      const perCreate = calls.total() / n
      costs[`${withId ? 'with clientMessageId, ' : ''}${n} at once`] = perCreate
      t.ok(perCreate <= (withId ? PER_CREATE_WITH_ID : PER_CREATE), `${n} concurrent: ${perCreate} calls per create (${JSON.stringify(calls.byCommand())})`)
    }
  }
  t.comment(`DynamoDB calls per create: ${JSON.stringify(costs)}`)

  // The invariants still hold: every message stored once, one group item per participant, the latest.
  const last = await app.call(`/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ messageGroupUuid: group, limit: 1 }))}`, { token: tokens.bayko })
  const latest = (last.body as { result: { data: { items: { message: string }[] } } }).result.data.items[0]!.message
  for (const owner of ['andrewbrown', 'bayko']) {
    const user = (await app.backends.users.findByHandle(owner))!
    const raw = await app.backends.ddb.send(
      new QueryCommand({ TableName: app.backends.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': `GRP#${user.uuid}` }, ConsistentRead: true }),
    )
    t.equal(raw.Items?.length, 1, `one group item for ${owner}`)
    t.equal(raw.Items?.[0]?.message, latest, `${owner}'s item shows the latest message`)
  }
  let total = 0
  let cursor: string | undefined
  do {
    const page = await app.call(
      `/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ messageGroupUuid: group, limit: 100, ...(cursor ? { cursor } : {}) }))}`,
      { token: tokens.bayko },
    )
    const data = (page.body as { result: { data: { items: unknown[]; nextCursor: string | null } } }).result.data
    total += data.items.length
    cursor = data.nextCursor ?? undefined
  } while (cursor)
  t.equal(total, 3 + 2 * (1 + 10 + 100), 'every message stored once')
})
