import t from 'tap'
import type { UserShort } from '@cruddur/contracts'
import { testBackends } from '../../helpers/backends.js'
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'

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
