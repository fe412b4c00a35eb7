// Every procedure of API.md over the real HTTP server, in tRPC's HTTP RPC wire format: GET queries
// with ?input=, POST mutations, batches; exact result and error shapes, timestamps, paging.
import { PutCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { addUser, expectError, expectErrorShape, expectResult, jsonPost, q, qBatch, TIMESTAMP, UUID, batchOf, type Output } from './wire.js'

t.test('procedures over HTTP', async (t) => {
  const app = await testApp(t)
  const [andrew, bayko, londo] = await Promise.all(['andrewbrown', 'bayko', 'londo'].map((h) => app.token(h)))
  const andrewUser = (await app.backends.users.findByHandle('andrewbrown'))!
  const baykoUser = (await app.backends.users.findByHandle('bayko'))!

  await t.test('users.me: the caller as UserShort', async (t) => {
    const data = expectResult(t, await app.call(q('users.me'), { token: andrew! })) as Output['users']['me']
    t.same(data, { uuid: andrewUser.uuid, handle: 'andrewbrown', displayName: 'Andrew Brown' })
    t.same(Object.keys(data).sort(), ['displayName', 'handle', 'uuid'], 'exactly UserShort')
    // input ignored when given as {} too? users.me takes none: omitted input is the normal call.
    const other = expectResult(t, await app.call(q('users.me'), { token: londo! })) as Output['users']['me']
    t.equal(other.handle, 'londo')
  })

  await t.test('users.short: with or without @, case-insensitive, unknown is NOT_FOUND', async (t) => {
    for (const handle of ['bayko', '@bayko', 'BAYKO', '@BaYkO', ' bayko ']) {
      const data = expectResult(t, await app.call(q('users.short', { handle }), { token: andrew! }), handle) as Output['users']['short']
      t.same(data, { uuid: baykoUser.uuid, handle: 'bayko', displayName: 'Andrew Bayko' }, `${JSON.stringify(handle)} is bayko`)
    }
    const res = await app.call(q('users.short', { handle: 'nobody_here' }), { token: andrew! })
    const err = expectError(t, res, 'NOT_FOUND', 404)
    t.equal(err.data.path, 'users.short')
    const res2 = await app.call(q('users.short', { handle: '@nobody_here' }), { token: andrew! })
    expectError(t, res2, 'NOT_FOUND', 404, 'unknown with @')
  })

  await t.test('messages.create with handle starts a conversation; a second create reuses it', async (t) => {
    const first = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'hello bayko', handle: 'bayko' }, andrew))) as Output['messages']['create']
    t.same(Object.keys(first).sort(), ['message', 'messageGroupUuid'])
    t.match(first.messageGroupUuid, UUID)
    t.same(Object.keys(first.message).sort(), ['createdAt', 'displayName', 'handle', 'message', 'uuid'])
    t.match(first.message, { handle: 'andrewbrown', displayName: 'Andrew Brown', message: 'hello bayko' })
    t.match(first.message.uuid, UUID)
    t.match(first.message.createdAt, TIMESTAMP)
    t.ok(Math.abs(Date.parse(first.message.createdAt) - Date.now()) < 60_000, 'createdAt is now')

    // Same pair, any spelling of the handle, from either side: the same conversation.
    const again = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'still me', handle: '@BAYKO' }, andrew))) as Output['messages']['create']
    t.equal(again.messageGroupUuid, first.messageGroupUuid, 'second create by handle reuses the conversation')
    const back = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'hi andrew', handle: 'AndrewBrown' }, bayko))) as Output['messages']['create']
    t.equal(back.messageGroupUuid, first.messageGroupUuid, 'the other participant reaches the same conversation')
    t.match(back.message, { handle: 'bayko', displayName: 'Andrew Bayko' })

    const viaUuid = expectResult(
      t,
      await app.call('/trpc/messages.create', jsonPost({ message: 'by uuid', messageGroupUuid: first.messageGroupUuid }, andrew)),
    ) as Output['messages']['create']
    t.equal(viaUuid.messageGroupUuid, first.messageGroupUuid, 'create with messageGroupUuid posts into it')
    t.equal(viaUuid.message.message, 'by uuid')

    // Two users share at most one conversation: each sees exactly one group for the other.
    for (const [token, other] of [[andrew!, 'bayko'], [bayko!, 'andrewbrown']] as const) {
      const groups = expectResult(t, await app.call(q('messageGroups.list'), { token })) as Output['messageGroups']['list']
      const withOther = groups.items.filter((g) => g.handle === other)
      t.equal(withOther.length, 1, `one conversation with ${other}`)
      t.same(withOther[0], {
        uuid: first.messageGroupUuid,
        handle: other,
        displayName: other === 'bayko' ? 'Andrew Bayko' : 'Andrew Brown',
        message: 'by uuid',
        createdAt: viaUuid.message.createdAt,
      }, 'MessageGroup: the OTHER participant and the last message')
    }
    const store = await app.backends.store.listMessages(first.messageGroupUuid, { limit: 100 })
    t.same(store.items.map((m) => m.message), ['hello bayko', 'still me', 'hi andrew', 'by uuid'], 'all four stored, in order')
  })

  await t.test('messageGroups.list: input omitted, {}, limit, cursor paging, newest first', async (t) => {
    const u = await addUser(app, 'pager', 'Pager Person')
    const token = await app.token('pager')
    const others = ['andrewbrown', 'bayko', 'londo']
    for (let i = 0; i < 5; i++) await addUser(app, `friend${i}`, `Friend ${i}`)
    const sent: string[] = []
    for (const h of [...others, 'friend0', 'friend1', 'friend2', 'friend3', 'friend4']) {
      const r = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: `to ${h}`, handle: h }, token)), `create to ${h}`) as Output['messages']['create']
      sent.push(r.messageGroupUuid)
      await new Promise((r) => setTimeout(r, 3)) // distinct milliseconds: a strict order to check
    }
    t.equal(new Set(sent).size, 8, 'eight conversations')
    const newestFirst = [...sent].reverse()

    const omitted = expectResult(t, await app.call(q('messageGroups.list'), { token }), 'input omitted') as Output['messageGroups']['list']
    const empty = expectResult(t, await app.call(q('messageGroups.list', {}), { token }), 'input {}') as Output['messageGroups']['list']
    t.same(Object.keys(omitted).sort(), ['items', 'nextCursor'], 'Page shape')
    t.same(omitted.items.map((g) => g.uuid), newestFirst, 'newest conversation first')
    t.same(empty, omitted, 'omitted and {} answer alike')
    t.equal(omitted.nextCursor, null, 'one page: nextCursor null')
    for (const g of omitted.items) {
      t.same(Object.keys(g).sort(), ['createdAt', 'displayName', 'handle', 'message', 'uuid'], 'exactly MessageGroup')
      t.match(g.createdAt, TIMESTAMP)
      t.equal(g.message, `to ${g.handle}`, 'last message, other participant handle')
    }
    const times = omitted.items.map((g) => g.createdAt)
    t.same(times, [...times].sort().reverse(), 'createdAt descending')
    t.not(u.uuid, undefined)

    // limit 3: pages of 3, 3, 2, then null.
    const pages: string[][] = []
    let cursor: string | undefined
    do {
      const data = expectResult(t, await app.call(q('messageGroups.list', cursor ? { limit: 3, cursor } : { limit: 3 }), { token }), `page ${pages.length}`) as Output['messageGroups']['list']
      pages.push(data.items.map((g) => g.uuid))
      t.ok(data.nextCursor === null || typeof data.nextCursor === 'string', 'nextCursor string or null')
      cursor = data.nextCursor ?? undefined
    } while (cursor && pages.length < 10)
    t.same(pages.map((p) => p.length), [3, 3, 2], 'pages of 3, 3, 2 and a null cursor at the end')
    t.same(pages.flat(), newestFirst, 'paging walks every conversation once, newest first')

    // Exactly at the end: limit 4 gives 4 + 4 and the second page says null.
    const p1 = expectResult(t, await app.call(q('messageGroups.list', { limit: 4 }), { token })) as Output['messageGroups']['list']
    const p2 = expectResult(t, await app.call(q('messageGroups.list', { limit: 4, cursor: p1.nextCursor }), { token })) as Output['messageGroups']['list']
    t.equal(p2.items.length, 4)
    t.equal(p2.nextCursor, null, 'no empty last page: nextCursor null exactly at the end')
    const one = expectResult(t, await app.call(q('messageGroups.list', { limit: 1 }), { token })) as Output['messageGroups']['list']
    t.equal(one.items.length, 1)
    t.equal(one.items[0]!.uuid, newestFirst[0])
    const hundred = expectResult(t, await app.call(q('messageGroups.list', { limit: 100 }), { token })) as Output['messageGroups']['list']
    t.equal(hundred.items.length, 8)
  })

  await t.test('messages.list: latest page first, oldest to newest within; nextCursor to the end', async (t) => {
    await addUser(app, 'chatty')
    const token = await app.token('chatty')
    const londoToken = londo!
    let group = ''
    const texts: string[] = []
    for (let i = 1; i <= 8; i++) {
      const from = i % 2 ? token : londoToken
      const body = group ? { message: `m${i}`, messageGroupUuid: group } : { message: `m${i}`, handle: 'londo' }
      const r = expectResult(t, await app.call('/trpc/messages.create', jsonPost(body, from)), `m${i}`) as Output['messages']['create']
      group = r.messageGroupUuid
      texts.push(`m${i}`)
      await new Promise((r) => setTimeout(r, 2))
    }
    const first = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 3 }), { token })) as Output['messages']['list']
    t.same(first.items.map((m) => m.message), ['m6', 'm7', 'm8'], 'latest page, oldest to newest')
    for (const m of first.items) {
      t.same(Object.keys(m).sort(), ['createdAt', 'displayName', 'handle', 'message', 'uuid'], 'exactly Message')
      t.match(m.createdAt, TIMESTAMP)
      t.match(m.uuid, UUID)
    }
    t.same(first.items.map((m) => m.handle), ['londo', 'chatty', 'londo'], 'handle is the sender')
    t.type(first.nextCursor, 'string')
    const second = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 3, cursor: first.nextCursor }), { token })) as Output['messages']['list']
    t.same(second.items.map((m) => m.message), ['m3', 'm4', 'm5'], 'older page')
    const third = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 3, cursor: second.nextCursor }), { token: londoToken })) as Output['messages']['list']
    t.same(third.items.map((m) => m.message), ['m1', 'm2'], 'oldest page (the other participant may page too)')
    t.equal(third.nextCursor, null, 'null at the end')

    const exact = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 4 }), { token })) as Output['messages']['list']
    const exact2 = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 4, cursor: exact.nextCursor }), { token })) as Output['messages']['list']
    t.same(exact2.items.map((m) => m.message), ['m1', 'm2', 'm3', 'm4'])
    t.equal(exact2.nextCursor, null, 'null exactly at the end')
    const all = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group }), { token })) as Output['messages']['list']
    t.same(all.items.map((m) => m.message), texts, 'default limit 20 holds all eight in order')
    t.equal(all.nextCursor, null)
  })

  await t.test("createdAt of items the original system wrote: offsets and precisions normalized", async (t) => {
    const legacy = await addUser(app, 'legacy', 'Legacy Larry')
    const londoUser = (await app.backends.users.findByHandle('londo'))!
    const group = '5f0e4a1c-7b2d-4c3e-9f8a-1b2c3d4e5f60'
    const put = (Item: Record<string, unknown>) => app.backends.ddb.send(new PutCommand({ TableName: app.backends.table, Item }))
    // The original's sort keys: bare timestamps, microseconds, +00:00 offsets (and one naive one).
    const raw = [
      ['2025-03-01T10:00:00.123456+00:00', '2025-03-01T10:00:00.123Z'],
      ['2025-03-01T10:30:00', '2025-03-01T10:30:00.000Z'],
      ['2025-03-01T11:00:00+00:00', '2025-03-01T11:00:00.000Z'],
      ['2025-03-01T11:30:00.5+00:00', '2025-03-01T11:30:00.500Z'],
      ['2025-03-01T14:45:00.999999+02:00', '2025-03-01T12:45:00.999Z'],
    ] as const
    for (const [i, [sk]] of raw.entries()) {
      const sender = i % 2 ? londoUser : legacy
      await put({ pk: `MSG#${group}`, sk, message_uuid: `00000000-0000-4000-8000-00000000000${i}`, message: `legacy ${i}`, user_uuid: sender.uuid, user_display_name: i % 2 ? 'Londo Mollari' : 'Legacy Larry', user_handle: sender.handle })
    }
    const lastSk = raw.at(-1)![0]
    await put({ pk: `GRP#${legacy.uuid}`, sk: lastSk, message_group_uuid: group, message: 'legacy 4', user_uuid: londoUser.uuid, user_display_name: 'Londo Mollari', user_handle: 'londo' })
    await put({ pk: `GRP#${londoUser.uuid}`, sk: lastSk, message_group_uuid: group, message: 'legacy 4', user_uuid: legacy.uuid, user_display_name: 'Legacy Larry', user_handle: 'legacy' })

    const token = await app.token('legacy')
    const msgs = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group }), { token })) as Output['messages']['list']
    t.same(msgs.items.map((m) => m.createdAt), raw.map(([, api]) => api), 'every createdAt as YYYY-MM-DDTHH:MM:SS.mmmZ in UTC')
    for (const m of msgs.items) t.match(m.createdAt, TIMESTAMP)
    const groups = expectResult(t, await app.call(q('messageGroups.list'), { token })) as Output['messageGroups']['list']
    t.same(groups.items, [{ uuid: group, handle: 'londo', displayName: 'Londo Mollari', message: 'legacy 4', createdAt: '2025-03-01T12:45:00.999Z' }])
    // A reply lands after them, and the conversation moves on.
    const reply = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'new era', messageGroupUuid: group }, token))) as Output['messages']['create']
    const after = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: group, limit: 2 }), { token: londo! })) as Output['messages']['list']
    t.same(after.items.map((m) => m.message), ['legacy 4', 'new era'])
    t.equal(after.items[1]!.createdAt, reply.message.createdAt)
  })

  await t.test('batching: GET queries with batch=1, 20 calls, POST mutations, mixed 207', async (t) => {
    const res = await app.call(qBatch([['users.me'], ['messageGroups.list', { limit: 1 }]]), { token: bayko! })
    t.equal(res.status, 200)
    t.ok(Array.isArray(res.body), 'a batch answers an array')
    const [me, list] = batchOf(res)
    t.equal(batchOf(res).length, 2)
    t.same(Object.keys(me!), ['result'])
    t.equal((me!.result!.data as Output['users']['me']).handle, 'bayko')
    t.equal((list!.result!.data as Output['messageGroups']['list']).items.length, 1)

    // The literal form from the brief: users.me,messageGroups.list?batch=1&input={...}
    const literal = await app.call(`/trpc/users.me,messageGroups.list?batch=1&input=${encodeURIComponent('{"1":{}}')}`, { token: bayko! })
    t.equal(literal.status, 200)
    t.equal(batchOf(literal).length, 2)

    // 10 calls (the default batch cap): the path parameter is long (Fastify's default maxParamLength of 100 would 404).
    const calls: [string, unknown?][] = []
    for (let i = 0; i < 10; i++) {
      calls.push(i % 4 === 0 ? ['users.me'] : i % 4 === 1 ? ['users.short', { handle: 'londo' }] : i % 4 === 2 ? ['messageGroups.list', { limit: 2 }] : ['messageGroups.list'])
    }
    const url = qBatch(calls)
    t.ok(url.split('?')[0]!.length - '/trpc/'.length > 130, 'a path well over Fastify\'s default maxParamLength of 100')
    const twenty = await app.call(url, { token: bayko! })
    t.equal(twenty.status, 200, 'a batch of 10 is served (not 404)')
    t.equal(batchOf(twenty).length, 10)
    t.ok(batchOf(twenty).every((r) => r.result && 'data' in r.result), 'ten results')
    t.equal((batchOf(twenty)[1]!.result!.data as Output['users']['short']).handle, 'londo')

    // POST batch of mutations.
    const post = await app.call(
      '/trpc/messages.create,messages.create?batch=1',
      jsonPost({ 0: { message: 'batched one', handle: 'londo' }, 1: { message: 'batched two', handle: '@londo' } }, bayko),
    )
    t.equal(post.status, 200)
    t.equal(batchOf(post).length, 2)
    const [b1, b2] = batchOf(post).map((r) => r.result!.data as Output['messages']['create'])
    t.equal(b1!.messageGroupUuid, b2!.messageGroupUuid, 'both in one conversation')
    const listed = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: b1!.messageGroupUuid }), { token: londo! })) as Output['messages']['list']
    t.same(listed.items.map((m) => m.message).sort(), ['batched one', 'batched two'])

    // Mixed success and error: 207 Multi-Status, each entry in its own shape.
    const mixed = await app.call(qBatch([['users.me'], ['users.short', { handle: 'ghost' }], ['messageGroups.list', { limit: 0 }]]), { token: bayko! })
    t.equal(mixed.status, 207, 'mixed batch is 207')
    const entries = batchOf(mixed)
    t.same(Object.keys(entries[0]!), ['result'])
    t.same(Object.keys(entries[1]!), ['error'])
    expectErrorShape(t, entries[1]!.error, 'NOT_FOUND', 404, 'batched NOT_FOUND')
    t.equal(entries[1]!.error!.data.path, 'users.short')
    const bad = expectErrorShape(t, entries[2]!.error, 'BAD_REQUEST', 400, 'batched BAD_REQUEST')
    t.equal(bad.data.path, 'messageGroups.list')
    t.ok(bad.data.issues?.some((i) => i.path === 'limit'), 'issues name limit')

    // All failing with one status: that status.
    const allBad = await app.call(qBatch([['users.short', { handle: 'ghost1' }], ['users.short', { handle: 'ghost2' }]]), { token: bayko! })
    t.equal(allBad.status, 404, 'a batch failing alike answers that status')
  })

  await t.test('negative answers are prompt (NOT_FOUND is not slower than a hit)', async (t) => {
    const timed = async (path: string) => {
      const started = performance.now()
      const res = await app.call(path, { token: londo! })
      return { status: res.status, ms: performance.now() - started }
    }
    for (const [label, path] of [
      ['unknown handle', q('users.short', { handle: 'ghost_of_nobody' })],
      ['missing conversation', q('messages.list', { messageGroupUuid: '7c1e9a52-3b4d-4e6f-8a9b-0c1d2e3f4a5b' })],
    ] as const) {
      const runs = [await timed(path), await timed(path), await timed(path)]
      t.ok(runs.every((r) => r.status === 404), `${label}: 404`)
      const slowest = Math.max(...runs.map((r) => r.ms))
      t.ok(slowest < 400, `${label}: each answer under 400 ms (slowest ${Math.round(slowest)} ms)`)
    }
  })

  await t.test('wire details: JSON content type, no transformer envelope', async (t) => {
    const res = await app.call(q('users.me'), { token: andrew! })
    t.match(res.headers.get('content-type'), /^application\/json/)
    t.notMatch(JSON.stringify(res.body), /"json"\s*:/, 'no superjson envelope')
    const err = await app.call(q('users.me'))
    t.match(err.headers.get('content-type'), /^application\/json/)
  })
})
