// UNAUTHORIZED (401) for every way a caller can fail to prove who they are, over the real server:
// header forms, token contents, signatures, and a valid token of no user.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { signAccessToken } from '../../../server/auth/access-token.js'
import { generateKeyPair } from '../../../server/auth/keys.js'
import { TEST_CLIENT, TEST_POOL, testApp } from '../../helpers/app.js'
import { ErrorBodies, expectError, expectResult, jsonPost, q, qBatch, batchOf } from '../trpc/wire.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

t.test('UNAUTHORIZED over HTTP', async (t) => {
  const app = await testApp(t)
  const bayko = (await app.backends.users.findByHandle('bayko'))!
  const good = await app.token('bayko')
  const bodies = new ErrorBodies()

  // The positive control: the same request with a good token answers.
  expectResult(t, await app.call(q('users.me'), { token: good }), 'good token')
  expectResult(t, await app.call(q('users.me'), { headers: { authorization: `bearer ${good}` } }), 'scheme is case-insensitive')

  const sameKid = generateKeyPair(app.key.kid)
  const otherKey = generateKeyPair()
  const [header, payload] = good.split('.') as [string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>

  const cases: [label: string, headers: Record<string, string>][] = [
    ['no token', {}],
    ['empty authorization', { authorization: '' }],
    ['scheme "Token"', { authorization: 'Token x' }],
    ['scheme "Token" with a good token', { authorization: `Token ${good}` }],
    ['"Bearer" alone', { authorization: 'Bearer' }],
    ['"Bearer " and spaces', { authorization: 'Bearer    ' }],
    ['two tokens', { authorization: `Bearer ${good} ${good}` }],
    ['Basic credentials', { authorization: `Basic ${Buffer.from('bayko:pw').toString('base64')}` }],
    ['garbage token', { authorization: 'Bearer not-a-jwt' }],
    ['garbage in three parts', { authorization: 'Bearer abc.def.ghi' }],
    ['truncated signature', { authorization: `Bearer ${good.slice(0, -10)}` }],
    ['no signature', { authorization: `Bearer ${header}.${payload}.` }],
    ['alg none', { authorization: `Bearer ${b64({ alg: 'none', kid: app.key.kid, typ: 'JWT' })}.${payload}.` }],
    ['tampered payload (sub of another user)', { authorization: `Bearer ${header}.${b64({ ...claims, sub: 'someone-else' })}.${good.split('.')[2]}` }],
    ['expired', { authorization: `Bearer ${await app.token('bayko', { ttlSeconds: -60 })}` }],
    ['just expired', { authorization: `Bearer ${await app.token('bayko', { ttlSeconds: -1 })}` }],
    ['another client', { authorization: `Bearer ${await app.token('bayko', { clientId: 'some-other-client' })}` }],
    ['another pool (pool id and its issuer)', { authorization: `Bearer ${await app.token('bayko', { userPoolId: 'us-east-1_OtherPool9' })}` }],
    ['issuer of another pool', { authorization: `Bearer ${await app.token('bayko', { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool9' })}` }],
    ['issuer of another region', { authorization: `Bearer ${await app.token('bayko', { issuer: `https://cognito-idp.eu-west-1.amazonaws.com/${TEST_POOL}` })}` }],
    ['id token', { authorization: `Bearer ${await app.token('bayko', { tokenUse: 'id' })}` }],
    [
      'signed by another key with the same kid',
      { authorization: `Bearer ${signAccessToken(sameKid, { sub: bayko.cognitoUserId!, userPoolId: TEST_POOL, clientId: TEST_CLIENT })}` },
    ],
    [
      'signed by an unknown kid',
      { authorization: `Bearer ${signAccessToken(otherKey, { sub: bayko.cognitoUserId!, userPoolId: TEST_POOL, clientId: TEST_CLIENT })}` },
    ],
    [
      'valid token of no user',
      { authorization: `Bearer ${signAccessToken(app.key, { sub: randomUUID(), userPoolId: TEST_POOL, clientId: TEST_CLIENT })}` },
    ],
  ]

  for (const [label, headers] of cases) {
    for (const [how, path, init] of [
      ['query', q('users.me'), {}],
      ['query with input', q('messageGroups.list', { limit: 5 }), {}],
      ['mutation', '/trpc/messages.create', jsonPost({ message: 'should not be written', handle: 'andrewbrown' })],
    ] as const) {
      const res = await app.call(path, { ...init, headers: { ...(init as { headers?: Record<string, string> }).headers, ...headers } })
      bodies.add(`${label} (${how})`, res.body)
      const err = expectError(t, res, 'UNAUTHORIZED', 401, `${label} (${how})`)
      t.ok(err.data.path, `${label} (${how}): path named`)
    }
  }

  await t.test('a batch with a bad token: every entry UNAUTHORIZED, HTTP 401', async (t) => {
    const res = await app.call(qBatch([['users.me'], ['messageGroups.list']]), { headers: { authorization: 'Bearer nope' } })
    bodies.add('batch', res.body)
    t.equal(res.status, 401)
    t.equal(batchOf(res).length, 2)
    for (const entry of batchOf(res)) t.equal(entry.error!.data.code, 'UNAUTHORIZED')
  })

  await t.test('nothing was written by any rejected mutation', async (t) => {
    const andrew = (await app.backends.users.findByHandle('andrewbrown'))!
    const groups = await app.backends.store.listGroups(andrew.uuid, { limit: 10 })
    t.same(groups.items, [], 'andrewbrown has no conversation')
    const groupUuid = await app.backends.store.conversationFor(andrew.uuid, bayko.uuid)
    t.same((await app.backends.store.listMessages(groupUuid, { limit: 10 })).items, [])
  })

  await t.test('the same answer for every failure: no hint of which check failed beyond the message', async (t) => {
    t.equal(new Set(bodies.bodies.map((b) => (JSON.parse(b.text) as { error?: { code: number } }).error?.code ?? 'batch')).size <= 2, true)
  })

  t.test('no error body reveals internals', async (t) => bodies.assertClean(t))
})
