// Property-based tests (fast-check) against the real app (issue 8): arbitrary procedures, inputs,
// cursors, headers, methods and batches, sent by an outsider. Whatever arrives: never a 500, never a
// stack or internal text, never another user's data.
import fc from 'fast-check'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { addUser, expectResult, jsonPost, LEAKS, q } from '../trpc/wire.js'

const PROCEDURES = ['users.me', 'users.short', 'messageGroups.list', 'messages.list', 'messages.create', 'messages.onCreated', 'messageGroups.onChanged']

t.test('fuzzing the HTTP API', async (t) => {
  const app = await testApp(t, {
    env: { RATE_LIMIT_READS_PER_MINUTE: '100000', RATE_LIMIT_WRITES_PER_MINUTE: '100000', RATE_LIMIT_ADDRESS_PER_MINUTE: '100000', RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: '100000' },
  })
  // The victims: a conversation of andrewbrown and bayko holding a secret.
  const secret = `SECRET-${Math.random().toString(36).slice(2)}`
  const andrew = await app.token('andrewbrown')
  const victimGroup = (expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: `${secret} 1`, handle: 'bayko' }, andrew))) as { messageGroupUuid: string }).messageGroupUuid
  expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: `${secret} 2`, messageGroupUuid: victimGroup }, andrew)))
  const victimCursor = (expectResult(t, await app.call(q('messages.list', { messageGroupUuid: victimGroup, limit: 1 }), { token: andrew })) as { nextCursor: string }).nextCursor
  const victimGroupsCursor = `c1.${Buffer.from(JSON.stringify([`GRP#${(await app.backends.users.findByHandle('andrewbrown'))!.uuid}`, '2026-01-01'])).toString('base64url')}`
  // The fuzzer: an outsider with a conversation of its own.
  const intruder = await addUser(app, 'fuzzer')
  const token = await app.token(intruder.handle)
  const ownGroup = (expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'mine', handle: 'londo' }, token))) as { messageGroupUuid: string }).messageGroupUuid

  const uuid = fc.oneof(fc.constant(victimGroup), fc.constant(victimGroup.toUpperCase()), fc.constant(ownGroup), fc.uuid(), fc.string())
  const cursor = fc.oneof(fc.constant(victimCursor), fc.constant(victimGroupsCursor), fc.string({ maxLength: 600 }), fc.base64String(), fc.constant('c1.'), fc.integer())
  const limit = fc.oneof(fc.integer({ min: -5, max: 200 }), fc.double(), fc.string(), fc.constant(null))
  const input = fc.oneof(
    fc.record({ messageGroupUuid: uuid, limit, cursor }, { requiredKeys: [] }),
    fc.record({ message: fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 1100 }), fc.constant('\u200B')), messageGroupUuid: uuid, handle: fc.string(), clientMessageId: uuid }, { requiredKeys: [] }),
    fc.record({ handle: fc.oneof(fc.string(), fc.constant('bayko'), fc.constant('@andrewbrown')), lastEventId: fc.string() }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constant(undefined),
  )
  const path = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PROCEDURES) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) })
  const header = fc.oneof(
    fc.constant(`Bearer ${token}`),
    fc.constant(`bearer  ${token} `),
    fc.constant(`Bearer ${andrew.slice(0, -4)}AAAA`),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.string({ maxLength: 60 }),
  )
  const request = fc.record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
    calls: fc.array(fc.tuple(path, input), { minLength: 1, maxLength: 12 }),
    batch: fc.boolean(),
    authorization: fc.option(header, { nil: undefined }),
    contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', 'multipart/form-data', ''), { nil: undefined }),
    trpcAccept: fc.option(fc.constantFrom('application/jsonl', 'text/event-stream', 'x'), { nil: undefined }),
    rawInput: fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
  })

  const failures: string[] = []
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const batch = r.batch || r.calls.length > 1
      const procedures = r.calls.map(([p]) => encodeURIComponent(p)).join(',')
      const inputs = batch ? Object.fromEntries(r.calls.map(([, i], n) => [String(n), i])) : r.calls[0]![1]
      const encoded = r.rawInput ?? (inputs === undefined ? undefined : JSON.stringify(inputs))
      const query = new URLSearchParams()
      if (batch) query.set('batch', '1')
      if (r.method === 'GET' && encoded !== undefined) query.set('input', encoded)
      const headers: Record<string, string> = {}
      if (r.authorization !== undefined) headers.authorization = r.authorization
      if (r.contentType !== undefined && r.contentType !== '') headers['content-type'] = r.contentType
      if (r.trpcAccept !== undefined) headers['trpc-accept'] = r.trpcAccept
      const abort = new AbortController()
      const timer = setTimeout(() => { abort.abort() }, 3_000) // a subscription that opened streams on
      let status = 0
      let text = ''
      try {
        const res = await fetch(`${app.url}/trpc/${procedures}?${query.toString()}`, {
          method: r.method,
          headers,
          signal: abort.signal,
          ...(r.method !== 'GET' && encoded !== undefined ? { body: encoded } : {}),
        })
        status = res.status
        text = res.headers.get('content-type')?.startsWith('text/event-stream') ? await firstEvents(res) : await res.text()
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err
      } finally {
        clearTimeout(timer)
      }
      const label = `${r.method} ${procedures.slice(0, 60)} -> ${String(status)}`
      if (status >= 500 && status !== 503) failures.push(`${label}: ${text.slice(0, 200)}`)
      for (const [name, re] of LEAKS) if (re.test(text)) failures.push(`${label}: ${name} in ${text.slice(0, 200)}`)
      if (text.includes(secret)) failures.push(`${label}: another user's message`)
      return true
    }),
    { numRuns: 250, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000), verbose: false },
  )
  t.same(failures.slice(0, 20), [], `no 500, no internals, no foreign data (${String(failures.length)} failures)`)
  // The outsider wrote nothing into the victims' conversation.
  const victims = await app.backends.store.listMessages(victimGroup, { limit: 100 })
  t.same(victims.items.map((m) => m.message), [`${secret} 1`, `${secret} 2`], "the victims' conversation is untouched")
})

/** The first events of a stream (enough to see what it sends), then the stream is left. */
async function firstEvents(res: Response): Promise<string> {
  const reader = res.body!.getReader()
  let text = ''
  const until = Date.now() + 300
  while (Date.now() < until && text.length < 10_000) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(r, 100))])
    if (!chunk) continue
    if (chunk.done) break
    text += new TextDecoder().decode(chunk.value)
  }
  await reader.cancel().catch(() => {})
  return text
}
