// The error formatter never echoes what it was sent (issue 8): unknown keys that are not field-like
// are not quoted back, a flood of them is answered with a few issues, and an unknown procedure's path
// is not repeated in the message.
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { expectError, jsonPost, q } from '../trpc/wire.js'

t.test("BAD_REQUEST issues name our fields, not the caller's text", async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const hostile = '<script>alert(1)</script> at /work/server.ts:12'
  const res = await app.call('/trpc/messages.create', jsonPost({ message: 'hi', handle: 'bayko', [hostile]: 1 }, token))
  const err = expectError(t, res, 'BAD_REQUEST', 400, 'a hostile unknown key')
  t.notMatch(JSON.stringify(res.body), /script|server\.ts/, 'the key is not echoed')
  t.same(err.data.issues?.map((i) => i.message), ['unknown field'])

  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${String(i)}`, i]))
  const flood = await app.call(q('messageGroups.list', { limit: 5, ...many }), { token })
  const floodErr = expectError(t, flood, 'BAD_REQUEST', 400, '500 unknown keys')
  t.ok((floodErr.data.issues?.length ?? 0) <= 10, `at most 10 issues (${String(floodErr.data.issues?.length)})`)
  t.ok(JSON.stringify(flood.body).length < 2_000, 'a short answer')

  const unknown = await app.call(q('users.<img src=x>'), { token })
  const unknownErr = expectError(t, unknown, 'NOT_FOUND', 404, 'an unknown procedure')
  t.equal(unknownErr.message, 'No such procedure')
  t.notMatch(JSON.stringify(unknown.body), /img/, 'its path is not echoed')
})
