// Issue 8, item 7: tokens that name no user or never expire, upper-case uuids, invisible messages,
// CORS for configured origins only, and /metrics behind METRICS_TOKEN.
import { createSign, randomUUID } from 'node:crypto'
import t from 'tap'
import { cognitoIssuer } from '../../../server/auth/access-token.js'
import type { KeyPair } from '../../../server/auth/keys.js'
import { TEST_CLIENT, TEST_POOL, testApp } from '../../helpers/app.js'
import { expectError, expectResult, jsonPost, q } from '../trpc/wire.js'
import { rawRequest } from './http.js'

/** A token signed with the app's key, with exactly these claims (signAccessToken always adds sub and exp). */
function signClaims(key: KeyPair, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const input = `${b64({ alg: 'RS256', kid: key.kid, typ: 'JWT' })}.${b64(claims)}`
  return `${input}.${createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url')}`
}

t.test('a validly signed token without sub, or without exp: 401', async (t) => {
  const app = await testApp(t)
  const user = await app.backends.users.findByHandle('andrewbrown')
  const now = Math.floor(Date.now() / 1000)
  const base = { iss: cognitoIssuer(TEST_POOL), client_id: TEST_CLIENT, token_use: 'access', iat: now, jti: randomUUID() }
  const good = signClaims(app.key, { ...base, sub: user!.cognitoUserId, exp: now + 600 })
  expectResult(t, await app.call(q('users.me'), { token: good }), 'the same claims with sub and exp')
  const noSub = signClaims(app.key, { ...base, exp: now + 600 })
  expectError(t, await app.call(q('users.me'), { token: noSub }), 'UNAUTHORIZED', 401, 'no sub')
  const noExp = signClaims(app.key, { ...base, sub: user!.cognitoUserId })
  expectError(t, await app.call(q('users.me'), { token: noExp }), 'UNAUTHORIZED', 401, 'no exp')
  expectError(t, await app.call(q('users.me'), { token: noExp }), 'UNAUTHORIZED', 401, 'no exp, again (nothing remembered)')
})

t.test("one's own conversation uuid in upper case is the same conversation", async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const created = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'first', handle: 'bayko' }, token))) as { messageGroupUuid: string }
  const upper = created.messageGroupUuid.toUpperCase()
  const posted = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'second', messageGroupUuid: upper }, token)), 'create') as { messageGroupUuid: string }
  t.equal(posted.messageGroupUuid, created.messageGroupUuid, 'answered with the stored (lower-case) uuid')
  for (const round of ['miss', 'hit (fast path)']) {
    const page = expectResult(t, await app.call(q('messages.list', { messageGroupUuid: upper }), { token }), round) as { items: { message: string }[] }
    t.same(page.items.map((m) => m.message), ['first', 'second'], `list by upper case: ${round}`)
  }
})

t.test('a message of only invisible characters is refused', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  for (const [label, text] of [
    ['zero-width space', '\u200B'],
    ['zero-width joiners and BOM', '\u200D\u200C\uFEFF\u2060'],
    ['bidi marks and spaces', ' \u200E\u200F \u00A0'],
    ['hangul filler', '\u3164\u3164'],
    ['braille blank', '\u2800'],
  ] as const) {
    const err = expectError(t, await app.call('/trpc/messages.create', jsonPost({ message: text, handle: 'bayko' }, token)), 'BAD_REQUEST', 400, label)
    t.equal(err.data.issues?.[0]?.path, 'message', `${label}: names the message`)
  }
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'ok\u200B', handle: 'bayko' }, token)), 'visible text with a zero-width space')
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: '👍🏽', handle: 'bayko' }, token)), 'an emoji')
})

t.test('CORS: none by default; configured origins get answers and preflights', async (t) => {
  const closed = await testApp(t)
  const plain = await rawRequest(closed.url, '/trpc/users.me', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } })
  t.equal(plain.headers['access-control-allow-origin'], undefined, 'no CORS without CORS_ORIGINS')

  const app = await testApp(t, { env: { CORS_ORIGINS: 'https://app.example, https://other.example' } })
  const token = await app.token('andrewbrown')
  const preflight = await rawRequest(app.url, '/trpc/messages.create', {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  })
  t.equal(preflight.status, 204, 'preflight: 204')
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  t.match(String(preflight.headers['access-control-allow-methods']), /POST/)
  t.match(String(preflight.headers['access-control-allow-headers']), /authorization/)
  const call = await app.call(q('users.me'), { token, headers: { origin: 'https://other.example' } })
  t.equal(call.status, 200)
  t.equal(call.headers.get('access-control-allow-origin'), 'https://other.example', 'a call from a configured origin')
  const foreign = await app.call(q('users.me'), { token, headers: { origin: 'https://evil.example' } })
  t.equal(foreign.headers.get('access-control-allow-origin'), null, 'no CORS for other origins')
  const foreignPreflight = await rawRequest(app.url, '/trpc/users.me', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
  t.equal(foreignPreflight.headers['access-control-allow-origin'], undefined, 'no preflight for other origins')
})

t.test('/metrics behind METRICS_TOKEN', async (t) => {
  const secret = 'metrics-secret-0123456789'
  const app = await testApp(t, { env: { METRICS_TOKEN: secret } })
  t.equal((await app.call('/metrics')).status, 401, 'no token: 401')
  t.equal((await app.call('/metrics', { token: `${secret}x` })).status, 401, 'a wrong token: 401')
  t.equal((await app.call('/metrics', { token: await app.token('andrewbrown') })).status, 401, "a user's token: 401")
  const ok = await app.call('/metrics', { token: secret })
  t.equal(ok.status, 200)
  t.match(ok.body, /cruddur_trpc_requests_total/)
})
