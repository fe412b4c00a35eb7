// Every error case of API.md over the real server, as a suite run twice: under the test's NODE_ENV
// (tRPC's isDev true: it would add stacks if the formatter let it) and under NODE_ENV=production.
// Not a test file itself: errors.test.ts and errors-production.test.ts run it.
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { Test } from 'tap'
import { testApp, type TestApp } from '../../helpers/app.js'
import { REGION, testBackends } from '../../helpers/backends.js'
import { addUser, collecting, ErrorBodies, expectError, expectResult, jsonPost, q, qBatch, batchOf, errorOf, type Output } from './wire.js'

const UNKNOWN_GROUP = '0b7d3c8e-2f41-4a6b-9c1d-5e8f7a6b4c3d'

/** One BAD_REQUEST case: the issues must name `field` (a path, or for unknown keys, the key). */
interface BadCase {
  label: string
  path: string
  init?: RequestInit & { token?: string }
  field: string
  /** A known gap, reported: the assertion that the issues name the field is a TODO. */
}


export async function errorSuite(t: Test): Promise<void> {
  const bodies = new ErrorBodies()
  const app = await testApp(t)
  const call = collecting(app, bodies)
  const [andrew, bayko, londo] = await Promise.all(['andrewbrown', 'bayko', 'londo'].map((h) => app.token(h))) as [string, string, string]

  // A conversation of andrewbrown and bayko with enough messages to page, and one of bayko and londo.
  let abGroup = ''
  for (let i = 0; i < 5; i++) {
    const r = expectResult(t, await call('/trpc/messages.create', jsonPost(abGroup ? { message: `ab${i}`, messageGroupUuid: abGroup } : { message: `ab${i}`, handle: 'bayko' }, andrew)), `ab${i}`) as Output['messages']['create']
    abGroup = r.messageGroupUuid
  }
  const blGroup = (expectResult(t, await call('/trpc/messages.create', jsonPost({ message: 'bl', handle: 'londo' }, bayko))) as Output['messages']['create']).messageGroupUuid
  for (let i = 0; i < 3; i++) await call('/trpc/messages.create', jsonPost({ message: `bl${i}`, messageGroupUuid: blGroup }, londo))
  const abCursor = (expectResult(t, await call(q('messages.list', { messageGroupUuid: abGroup, limit: 2 }), { token: andrew })) as Output['messages']['list']).nextCursor as string
  const blCursor = (expectResult(t, await call(q('messages.list', { messageGroupUuid: blGroup, limit: 2 }), { token: bayko })) as Output['messages']['list']).nextCursor as string
  // Group-list cursors: bayko has two conversations.
  const baykoGroupsCursor = (expectResult(t, await call(q('messageGroups.list', { limit: 1 }), { token: bayko })) as Output['messageGroups']['list']).nextCursor as string
  t.type(abCursor, 'string')
  t.type(blCursor, 'string')
  t.type(baykoGroupsCursor, 'string')

  await t.test('BAD_REQUEST 400 with data.issues naming the fields', async (t) => {
    const create = (body: unknown, token = andrew) => ({ path: '/trpc/messages.create', init: jsonPost(body, token) })
    const cases: BadCase[] = [
      { label: 'groups limit 0', path: q('messageGroups.list', { limit: 0 }), field: 'limit' },
      { label: 'groups limit 101', path: q('messageGroups.list', { limit: 101 }), field: 'limit' },
      { label: "groups limit 'x'", path: q('messageGroups.list', { limit: 'x' }), field: 'limit' },
      { label: "groups limit '5' (a string)", path: q('messageGroups.list', { limit: '5' }), field: 'limit' },
      { label: 'groups limit 1.5', path: q('messageGroups.list', { limit: 1.5 }), field: 'limit' },
      { label: 'groups limit -1', path: q('messageGroups.list', { limit: -1 }), field: 'limit' },
      { label: 'groups limit null', path: q('messageGroups.list', { limit: null }), field: 'limit' },
      { label: 'groups cursor garbage', path: q('messageGroups.list', { cursor: 'garbage!!' }), field: 'cursor' },
      { label: 'groups cursor empty', path: q('messageGroups.list', { cursor: '' }), field: 'cursor' },
      { label: 'groups cursor 600 chars', path: q('messageGroups.list', { cursor: 'c'.repeat(600) }), field: 'cursor' },
      { label: 'groups cursor a number', path: q('messageGroups.list', { cursor: 5 }), field: 'cursor' },
      { label: 'groups cursor of a message list', path: q('messageGroups.list', { cursor: abCursor }), field: 'cursor' },
      { label: "groups cursor of another user's list", path: q('messageGroups.list', { cursor: baykoGroupsCursor }), field: 'cursor' },
      { label: 'groups input a string', path: q('messageGroups.list', 'x'), field: '' },
      { label: 'groups unknown field', path: q('messageGroups.list', { limit: 5, order: 'asc' }), field: 'order' },
      { label: 'messages limit 0', path: q('messages.list', { messageGroupUuid: abGroup, limit: 0 }), field: 'limit' },
      { label: 'messages limit 101', path: q('messages.list', { messageGroupUuid: abGroup, limit: 101 }), field: 'limit' },
      { label: "messages limit 'x'", path: q('messages.list', { messageGroupUuid: abGroup, limit: 'x' }), field: 'limit' },
      { label: 'messages bad messageGroupUuid', path: q('messages.list', { messageGroupUuid: 'not-a-uuid' }), field: 'messageGroupUuid' },
      { label: 'messages messageGroupUuid missing', path: q('messages.list', { limit: 5 }), field: 'messageGroupUuid' },
      { label: 'messages input omitted', path: q('messages.list'), field: '' },
      { label: 'messages cursor garbage', path: q('messages.list', { messageGroupUuid: abGroup, cursor: 'garbage' }), field: 'cursor' },
      { label: 'messages cursor c1. garbage', path: q('messages.list', { messageGroupUuid: abGroup, cursor: 'c1.!!!!' }), field: 'cursor' },
      {
        label: 'messages cursor of another conversation (both mine)',
        path: q('messages.list', { messageGroupUuid: abGroup, cursor: blCursor }),
        init: { token: bayko },
        field: 'cursor',
      },
      {
        label: 'messages cursor of a conversation of others',
        path: q('messages.list', { messageGroupUuid: blGroup, cursor: abCursor }),
        init: { token: londo },
        field: 'cursor',
      },
      { label: 'messages cursor of a group list', path: q('messages.list', { messageGroupUuid: abGroup, cursor: baykoGroupsCursor }), field: 'cursor' },
      { label: 'messages unknown field', path: q('messages.list', { messageGroupUuid: abGroup, sort: 1 }), field: 'sort' },
      { label: 'short handle empty', path: q('users.short', { handle: '' }), field: 'handle' },
      { label: 'short handle "@"', path: q('users.short', { handle: '@' }), field: 'handle' },
      { label: 'short handle with a space', path: q('users.short', { handle: 'a b' }), field: 'handle' },
      { label: 'short handle a number', path: q('users.short', { handle: 5 }), field: 'handle' },
      { label: 'short handle missing', path: q('users.short', {}), field: 'handle' },
      { label: 'short unknown field', path: q('users.short', { handle: 'bayko', x: 1 }), field: 'x' },
      { label: 'create message empty', ...create({ message: '', handle: 'bayko' }), field: 'message' },
      { label: 'create message whitespace', ...create({ message: '   ', handle: 'bayko' }), field: 'message' },
      { label: 'create message newlines and tabs', ...create({ message: '\n\t \r\n', messageGroupUuid: abGroup }), field: 'message' },
      { label: 'create message 1025 chars', ...create({ message: 'x'.repeat(1025), handle: 'bayko' }), field: 'message' },
      { label: 'create message a number', ...create({ message: 5, handle: 'bayko' }), field: 'message' },
      { label: 'create message missing', ...create({ handle: 'bayko' }), field: 'message' },
      { label: 'create bad messageGroupUuid', ...create({ message: 'hi', messageGroupUuid: 'nope' }), field: 'messageGroupUuid' },
      { label: 'create bad handle', ...create({ message: 'hi', handle: 'no spaces allowed' }), field: 'handle' },
      { label: 'create neither handle nor messageGroupUuid', ...create({ message: 'hi' }), field: '' },
      { label: 'create unknown extra field', ...create({ message: 'hi', handle: 'bayko', priority: 'high' }), field: 'priority' },
      { label: 'create messaging yourself', ...create({ message: 'hi me', handle: 'andrewbrown' }), field: 'handle' },
      { label: 'create messaging yourself (@, other case)', ...create({ message: 'hi me', handle: '@AndrewBrown' }), field: 'handle' },
      { label: 'create input an array', ...create([{ message: 'hi', handle: 'bayko' }]), field: '' },
      { label: 'create input null', ...create(null), field: '' },
    ]
    for (const c of cases) {
      const res = await call(c.path, { token: andrew, ...c.init })
      const err = expectError(t, res, 'BAD_REQUEST', 400, c.label)
      t.ok(err.data.path, `${c.label}: data.path names the procedure`)
      t.ok(Array.isArray(err.data.issues) && err.data.issues.length > 0, `${c.label}: data.issues`)
      if (c.field) {
        const named = err.data.issues?.some((i) => i.path === c.field || i.path.split('.').includes(c.field) || i.message.includes(`"${c.field}"`))
        t.ok(named, `${c.label}: issues name "${c.field}": ${JSON.stringify(err.data.issues)}`)
      }
    }

    // 1024 characters is the limit, inclusive; 1 character is fine.
    const max = expectResult(t, await call('/trpc/messages.create', jsonPost({ message: 'y'.repeat(1024), messageGroupUuid: abGroup }, andrew)), '1024 chars') as Output['messages']['create']
    t.equal(max.message.message.length, 1024)
    expectResult(t, await call('/trpc/messages.create', jsonPost({ message: '.', messageGroupUuid: abGroup }, andrew)), '1 char')
    expectResult(t, await call(q('messageGroups.list', { limit: 100 }), { token: andrew }), 'limit 100')
    expectResult(t, await call(q('messageGroups.list', { limit: 1 }), { token: andrew }), 'limit 1')

    // Both handle and messageGroupUuid: one of two shapes, strictly; 400 either way.
    const both = await call('/trpc/messages.create', jsonPost({ message: 'which one?', handle: 'bayko', messageGroupUuid: abGroup }, andrew))
    const bothErr = expectError(t, both, 'BAD_REQUEST', 400, 'both handle and messageGroupUuid')
    t.ok(Array.isArray(bothErr.data.issues) && bothErr.data.issues.length > 0, 'both: issues present')
    t.ok(
      bothErr.data.issues?.some((i) => /handle|messageGroupUuid/.test(`${i.path} ${i.message}`)),
      `both: issues name handle or messageGroupUuid: ${JSON.stringify(bothErr.data.issues)}`,
    )
    const unknownKey = await call('/trpc/messages.create', jsonPost({ message: 'hi', handle: 'bayko', priority: 'high' }, andrew))
    t.ok(
      errorOf(unknownKey)!.data.issues?.some((i) => i.path === 'priority'),
      `unknown key: an issue whose path is the key: ${JSON.stringify(errorOf(unknownKey)!.data.issues)}`,
    )

    // None of the rejected creates wrote anything.
    const stored = await app.backends.store.listMessages(abGroup, { limit: 100 })
    t.same(stored.items.map((m) => m.message), ['ab0', 'ab1', 'ab2', 'ab3', 'ab4', 'y'.repeat(1024), '.'], 'only accepted messages stored')
    const andrewUuid = (await app.backends.users.findByHandle('andrewbrown'))!.uuid
    t.equal((await app.backends.store.listGroups(andrewUuid, { limit: 10 })).items.length, 1, 'andrewbrown still in one conversation')
  })

  await t.test('NOT_FOUND 404: unknown handle; missing and foreign conversations answer alike', async (t) => {
    const unknownHandle = expectError(t, await call('/trpc/messages.create', jsonPost({ message: 'hello?', handle: 'nobody_at_all' }, andrew)), 'NOT_FOUND', 404, 'create to unknown handle')
    t.equal(unknownHandle.data.path, 'messages.create')
    expectError(t, await call(q('users.short', { handle: '@nobody_at_all' }), { token: andrew }), 'NOT_FOUND', 404, 'short unknown handle')

    const missing = expectError(t, await call(q('messages.list', { messageGroupUuid: UNKNOWN_GROUP }), { token: londo }), 'NOT_FOUND', 404, 'list missing')
    const foreign = expectError(t, await call(q('messages.list', { messageGroupUuid: abGroup }), { token: londo }), 'NOT_FOUND', 404, 'list foreign')
    t.same(foreign, missing, 'list: a foreign conversation answers exactly like a missing one')
    const foreignPaged = expectError(t, await call(q('messages.list', { messageGroupUuid: abGroup, cursor: abCursor, limit: 2 }), { token: londo }), 'NOT_FOUND', 404, 'list foreign with its own cursor')
    t.same(foreignPaged, missing, 'with a valid cursor of it: still NOT_FOUND')

    const before = await app.backends.store.listMessages(abGroup, { limit: 100 })
    const missingPost = expectError(t, await call('/trpc/messages.create', jsonPost({ message: 'intrude', messageGroupUuid: UNKNOWN_GROUP }, londo)), 'NOT_FOUND', 404, 'post missing')
    const foreignPost = expectError(t, await call('/trpc/messages.create', jsonPost({ message: 'intrude', messageGroupUuid: abGroup }, londo)), 'NOT_FOUND', 404, 'post foreign')
    t.same(foreignPost, missingPost, 'create: a foreign conversation answers exactly like a missing one')
    t.same(await app.backends.store.listMessages(abGroup, { limit: 100 }), before, 'nothing written to the foreign conversation')
    t.same((await app.backends.store.listMessages(UNKNOWN_GROUP, { limit: 100 })).items, [], 'nothing written to the missing one')
    const londoUuid = (await app.backends.users.findByHandle('londo'))!.uuid
    t.same((await app.backends.store.listGroups(londoUuid, { limit: 10 })).items.map((g) => g.uuid), [blGroup], 'londo gained no conversation')
  })

  await t.test('transport errors: each a clean 4xx in tRPC shape', async (t) => {
    const body = JSON.stringify({ message: 'hi', handle: 'bayko' })
    const malformed = expectError(t, await call('/trpc/messages.create', jsonPost('{"message": "hi", ', andrew)), 'BAD_REQUEST', 400, 'malformed JSON body')
    t.equal(malformed.data.path, 'messages.create')
    expectError(t, await call('/trpc/messages.create', jsonPost('not json at all', andrew)), 'BAD_REQUEST', 400, 'not JSON')
    expectError(t, await call(`/trpc/messageGroups.list?input=${encodeURIComponent('{"limit":')}`, { token: andrew }), 'BAD_REQUEST', 400, 'malformed ?input=')
    const batchBad = await call(`/trpc/users.me,messageGroups.list?batch=1&input=${encodeURIComponent('{"0":')}`, { token: andrew })
    // tRPC parses each call's input on its own: the call without input still answers.
    t.ok(batchBad.status === 400 || batchBad.status === 207, `malformed batch input: 400 or 207 (${batchBad.status})`)
    if (Array.isArray(batchBad.body)) {
      t.equal(batchOf(batchBad)[1]!.error!.data.code, 'BAD_REQUEST', 'malformed batch input: BAD_REQUEST entry')
      t.equal(batchOf(batchBad)[1]!.error!.message, 'Malformed JSON in request')
    }

    // POST without content-type: fetch would send text/plain for a string body; send none at all.
    const noType = await rawPost(app, '/trpc/messages.create', body, { authorization: `Bearer ${andrew}` })
    bodies.add('POST without content-type', noType.body)
    t.ok(noType.status >= 400 && noType.status < 500, `POST without content-type: 4xx (${noType.status})`)
    expectError(t, noType, errorOf(noType)?.data.code ?? '', noType.status, 'POST without content-type')
    const textPlain = await call('/trpc/messages.create', { method: 'POST', headers: { 'content-type': 'text/plain' }, body, token: andrew })
    t.ok(textPlain.status >= 400 && textPlain.status < 500, `POST text/plain: 4xx (${textPlain.status})`)
    expectError(t, textPlain, errorOf(textPlain)?.data.code ?? '', textPlain.status, 'POST text/plain')

    const big = await call('/trpc/messages.create', jsonPost({ message: 'z'.repeat(17 * 1024), handle: 'bayko' }, andrew))
    expectError(t, big, 'PAYLOAD_TOO_LARGE', 413, 'body over 16 KiB')
    const bigBatch = await call(
      '/trpc/messages.create,messages.create?batch=1',
      jsonPost({ 0: { message: 'q'.repeat(1000), handle: 'bayko' }, 1: { message: 'q'.repeat(1000), handle: 'bayko' }, pad: 'p'.repeat(16 * 1024) }, andrew),
    )
    t.equal(bigBatch.status, 413, 'a batch body over the limit: 413')

    for (const [label, path] of [
      ['unknown procedure', q('users.nope')],
      ['unknown router', q('nope.list')],
      ['router, not procedure', q('messages')],
      ['prototype key', q('users.__proto__')],
      ['constructor', q('constructor')],
    ] as const) {
      expectError(t, await call(path, { token: andrew }), 'NOT_FOUND', 404, label)
    }
    const unknownInBatch = await call(qBatch([['users.me'], ['nope.nope']]), { token: andrew })
    t.ok(unknownInBatch.status === 404 || unknownInBatch.status === 207, `unknown in a batch: 404 or 207 (${unknownInBatch.status})`)
    if (Array.isArray(unknownInBatch.body)) t.equal(batchOf(unknownInBatch)[1]!.error!.data.code, 'NOT_FOUND', 'unknown in a batch: NOT_FOUND entry')
    else expectError(t, unknownInBatch, 'NOT_FOUND', 404, 'unknown in a batch')
    expectError(t, await call('/trpc', { token: andrew }), 'NOT_FOUND', 404, 'no procedure at all')
    expectError(t, await call('/trpc/', { token: andrew }), 'NOT_FOUND', 404, 'empty procedure')

    const getMutation = expectError(t, await call(q('messages.create', { message: 'via GET', handle: 'bayko' }), { token: andrew }), 'METHOD_NOT_SUPPORTED', 405, 'GET a mutation')
    t.equal(getMutation.data.path, 'messages.create')
    const postQuery = expectError(t, await call('/trpc/users.me', jsonPost({}, andrew)), 'METHOD_NOT_SUPPORTED', 405, 'POST a query')
    t.equal(postQuery.data.path, 'users.me')
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await call('/trpc/messages.create', { ...jsonPost({ message: 'hi', handle: 'bayko' }, andrew), method })
      t.ok(res.status >= 400 && res.status < 500, `${method}: 4xx (${res.status})`)
      expectError(t, res, errorOf(res)?.data.code ?? '', res.status, method)
    }
    const stored = await app.backends.store.listMessages(abGroup, { limit: 100 })
    t.notOk(stored.items.some((m) => m.message === 'via GET' || m.message === 'hi' || m.message.startsWith('zzz')), 'nothing written by transport failures')
  })

  await t.test('internal failures: DynamoDB table dropped, PostgreSQL table dropped, DynamoDB down', async (t) => {
    const isGeneric = (label: string, res: { status: number; body: unknown }) => {
      bodies.add(label, res.body)
      t.ok(res.status === 500 || res.status === 503, `${label}: 500 or 503 (${res.status})`)
      const code = res.status === 500 ? 'INTERNAL_SERVER_ERROR' : 'SERVICE_UNAVAILABLE'
      const err = expectError(t, res, code, res.status, label)
      t.match(err.message, /^(Internal server error|Service temporarily unavailable)$/, `${label}: generic message`)
    }

    await t.test('the table dropped under a running app', async (t) => {
      const b = await testBackends(t)
      const broken = await testApp(t, { backends: b })
      const tokens = await Promise.all(['andrewbrown', 'bayko'].map((h) => broken.token(h)))
      const raw = new DynamoDBClient({ region: REGION, endpoint: b.dynamoEndpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } })
      await raw.send(new DeleteTableCommand({ TableName: b.table }))
      raw.destroy()
      isGeneric('create after drop', await broken.call('/trpc/messages.create', jsonPost({ message: 'lost?', handle: 'bayko' }, tokens[0])))
      isGeneric('groups after drop', await broken.call(q('messageGroups.list'), { token: tokens[1] }))
      isGeneric('messages after drop', await broken.call(q('messages.list', { messageGroupUuid: UNKNOWN_GROUP }), { token: tokens[1] }))
      const mixed = await broken.call(qBatch([['users.me'], ['messageGroups.list', { limit: 3 }]]), { token: tokens[0] })
      bodies.add('batch after drop', mixed.body)
      t.equal(mixed.status, 207, 'a batch with one internal failure: 207')
      t.equal((batchOf(mixed)[0]!.result!.data as Output['users']['me']).handle, 'andrewbrown', 'PostgreSQL still answers')
      t.equal(batchOf(mixed)[1]!.error!.message, 'Internal server error')
    })

    await t.test('the users table dropped', async (t) => {
      const b = await testBackends(t)
      const broken = await testApp(t, { backends: b })
      const token = await broken.token('londo')
      await b.sql`drop table users`
      isGeneric('users.me without a users table', await broken.call(q('users.me'), { token }))
      isGeneric('users.short without a users table', await broken.call(q('users.short', { handle: 'bayko' }), { token }))
    })

    await t.test('DynamoDB unreachable', async (t) => {
      const b = await testBackends(t)
      const broken = await testApp(t, { backends: b })
      const token = await broken.token('bayko')
      expectResult(t, await broken.call(q('messageGroups.list', { limit: 5 }), { token }), 'up before')
      await b.stopDynamo()
      isGeneric('groups with DynamoDB down', await broken.call(q('messageGroups.list', { limit: 6 }), { token }))
      isGeneric('create with DynamoDB down', await broken.call('/trpc/messages.create', jsonPost({ message: 'lost?', handle: 'andrewbrown' }, token)))
      isGeneric('list with DynamoDB down', await broken.call(q('messages.list', { messageGroupUuid: UNKNOWN_GROUP }), { token }))
    })
  })

  await t.test('authorization: callers read and post only in their own conversations', async (t) => {
    const intruder = await addUser(app, 'intruder')
    const itoken = await app.token(intruder.handle)
    const groups = expectResult(t, await call(q('messageGroups.list'), { token: itoken })) as Output['messageGroups']['list']
    t.same(groups.items, [], "an outsider's list holds none of the others' conversations")
    for (const g of [abGroup, blGroup]) {
      expectError(t, await call(q('messages.list', { messageGroupUuid: g }), { token: itoken }), 'NOT_FOUND', 404, `read ${g}`)
      expectError(t, await call('/trpc/messages.create', jsonPost({ message: 'hi all', messageGroupUuid: g }, itoken)), 'NOT_FOUND', 404, `post ${g}`)
    }
    // Participants still can, on either side.
    expectResult(t, await call(q('messages.list', { messageGroupUuid: blGroup }), { token: londo }), 'londo reads bl')
    expectResult(t, await call(q('messages.list', { messageGroupUuid: blGroup }), { token: bayko }), 'bayko reads bl')
    expectError(t, await call(q('messages.list', { messageGroupUuid: blGroup }), { token: andrew }), 'NOT_FOUND', 404, 'andrew reads bl')
    expectError(t, await call('/trpc/messages.create', jsonPost({ message: 'sneak', messageGroupUuid: blGroup }, andrew)), 'NOT_FOUND', 404, 'andrew posts in bl')
    // Starting a conversation by handle gives the caller their own pair's conversation, never another.
    const own = expectResult(t, await call('/trpc/messages.create', jsonPost({ message: 'hello londo', handle: 'londo' }, itoken))) as Output['messages']['create']
    t.not(own.messageGroupUuid, blGroup, 'a new pair gets a new conversation')
    const bl = await app.backends.store.listMessages(blGroup, { limit: 100 })
    t.notOk(bl.items.some((m) => m.handle === 'intruder' || m.handle === 'andrewbrown'), 'no outsider message in bl')
    // A batch cannot smuggle a foreign read next to an allowed one.
    const batch = await call(qBatch([['messages.list', { messageGroupUuid: own.messageGroupUuid }], ['messages.list', { messageGroupUuid: abGroup }]]), { token: itoken })
    t.equal(batch.status, 207)
    t.equal((batchOf(batch)[0]!.result!.data as Output['messages']['list']).items.length, 1)
    t.equal(batchOf(batch)[1]!.error!.data.code, 'NOT_FOUND')
  })

  t.test('no error body reveals a stack, SQL, DynamoDB or AWS text', async (t) => {
    t.ok(bodies.bodies.length > 80, `${bodies.bodies.length} error bodies collected`)
    bodies.assertClean(t)
  })
}

/** A POST with exactly the given headers (fetch adds a content-type for string bodies). */
async function rawPost(app: TestApp, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request(app.url + path, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => {
        let parsed: unknown = text
        try {
          parsed = JSON.parse(text)
        } catch {
          // keep text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
