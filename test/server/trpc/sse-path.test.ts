// The SSE path serves subscriptions as tRPC's adapter does, byte for byte: two instances on the same
// backends and Redis, one with the SSE path and one without, answer the same subscription with the
// same stream, the same in-stream errors, and the same refusals. One addition: a new stream's first
// event is its starting point, an id without data (which sets the EventSource's last event id and
// dispatches nothing), so a client that disconnects before its first message resumes losing nothing.
import t from 'tap'
import { type TestApp, testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { opened } from '../../helpers/subscriber.js'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Raw {
  /** The starting point the stream sent (an id-only event), if any. */
  start(): string | undefined
  status: number
  headers: Record<string, string>
  text(): string
  /** Resolves once the body holds `n` matches of `pattern` (or the stream ended). */
  until(pattern: RegExp, n: number, ms?: number): Promise<void>
  done: Promise<void>
  close(): void
}

/** The stream's text without its starting point (which the adapter does not send). */
const withoutStart = (r: Raw) => r.text().replace(/^id: .+\n\n(?!\n)/m, '')

/** A subscription over plain fetch, its bytes kept as they arrive. */
async function raw(app: TestApp, path: string, input: unknown, token: string, headers: Record<string, string> = {}): Promise<Raw> {
  const params = new URLSearchParams({ connectionParams: JSON.stringify({ token }), ...(input === undefined ? {} : { input: JSON.stringify(input) }) })
  const controller = new AbortController()
  const res = await fetch(`${app.url}/trpc/${path}?${params}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  let text = ''
  const decoder = new TextDecoder()
  const reader = res.body!.getReader()
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        text += decoder.decode(value)
      }
    } catch {
      // aborted
    }
  })()
  let ended = false
  void done.then(() => (ended = true))
  return {
    status: res.status,
    headers: Object.fromEntries(['content-type', 'cache-control', 'x-accel-buffering', 'vary', 'connection'].map((h) => [h, res.headers.get(h) ?? ''])),
    text: () => text.replace(/event: ping\ndata: \n\n\n/g, ''),
    start: () => /^id: (.+)\n\n(?!\n)/m.exec(text)?.[1],
    async until(pattern, n, ms = 10_000) {
      const deadline = Date.now() + ms
      const all = new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)
      while (!ended && [...text.matchAll(all)].length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} × ${pattern}: ${text.slice(-500)}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    done,
    close: () => { controller.abort() },
  }
}

t.test('the SSE path and the adapter stream the same bytes', { timeout: 60_000 }, async (t) => {
  const backends = await testBackends(t)
  const common = { backends, redis: { kind: 'single' as const, url: REDIS }, cachePrefix: `sse-${Math.random().toString(36).slice(2)}` }
  const fast = await testApp(t, common)
  const adapter = await testApp(t, { ...common, key: fast.key, ssePath: false })
  const brown = await fast.token('andrewbrown')
  const bayko = await fast.token('bayko')
  const created = await fast.call('/trpc/messages.create', {
    method: 'POST',
    token: brown,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle: 'bayko', message: 'start' }),
  })
  const group = (created.body as { result: { data: { messageGroupUuid: string } } }).result.data.messageGroupUuid

  const streams = {
    fast: { messages: await raw(fast, 'messages.onCreated', { messageGroupUuid: group }, bayko), rows: await raw(fast, 'messageGroups.onChanged', undefined, bayko) },
    adapter: { messages: await raw(adapter, 'messages.onCreated', { messageGroupUuid: group }, bayko), rows: await raw(adapter, 'messageGroups.onChanged', undefined, bayko) },
  }
  await opened(() => fast.metrics.registry.metrics(), 2)
  await opened(() => adapter.metrics.registry.metrics(), 2)
  for (let i = 0; i < 3; i++) {
    await fast.call('/trpc/messages.create', {
      method: 'POST',
      token: brown,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messageGroupUuid: group, message: `m${i} "quoted" \u00e9 \u{1F600}` }),
    })
  }
  for (const side of Object.values(streams)) {
    await side.messages.until(/^data: \{"uuid"/m, 3)
    await side.rows.until(/^data: \{"uuid"/m, 3)
  }
  t.same(streams.fast.messages.headers, streams.adapter.messages.headers, 'the same headers')
  t.equal(streams.fast.messages.status, 200)
  t.equal(withoutStart(streams.fast.messages), streams.adapter.messages.text(), 'messages.onCreated: the same bytes, but for the starting point')
  t.equal(withoutStart(streams.fast.rows), streams.adapter.rows.text(), 'messageGroups.onChanged: the same bytes, but for the starting point')
  t.match(streams.fast.messages.text(), /^event: connected\ndata: \{"reconnectAfterInactivityMs":30000\}\n\n\nid: .+\n\n(data: \{.*\}\nid: .+\n\n\n){3}$/)
  const first = (created.body as { result: { data: { message: { uuid: string; createdAt: string } } } }).result.data.message
  t.equal(streams.fast.messages.start(), `${first.createdAt}#${first.uuid}`, 'the starting point: the conversation as it was (its last message)')
  t.equal(streams.fast.rows.start(), `${first.createdAt}#${first.uuid}`, "the list's starting point: its newest row")

  // Resuming from the first event (the Last-Event-ID header, as an EventSource sends it).
  const firstId = /^data: .*\nid: (.+)$/m.exec(streams.fast.messages.text())![1]!
  const resumed = {
    fast: await raw(fast, 'messages.onCreated', { messageGroupUuid: group }, bayko, { 'last-event-id': firstId }),
    adapter: await raw(adapter, 'messages.onCreated', { messageGroupUuid: group }, bayko, { 'last-event-id': firstId }),
  }
  await resumed.fast.until(/^data: \{"uuid"/m, 2)
  await resumed.adapter.until(/^data: \{"uuid"/m, 2)
  t.equal(resumed.fast.text(), resumed.adapter.text(), 'a resumed stream: the same bytes')
  for (const s of [...Object.values(streams).flatMap((x) => [x.messages, x.rows]), resumed.fast, resumed.adapter]) s.close()

  // Refusals before the stream (left to the adapter by the SSE path), and in the stream.
  const londo = await fast.token('londo')
  const cases: [string, string, unknown, string][] = [
    ['non-member', 'messages.onCreated', { messageGroupUuid: group }, londo],
    ['bad token', 'messages.onCreated', { messageGroupUuid: group }, 'nope'],
    ['bad input', 'messages.onCreated', { messageGroupUuid: 'x' }, bayko],
    ['token expiring in a second', 'messageGroups.onChanged', undefined, await fast.token('bayko', { ttlSeconds: 1 })],
  ]
  for (const [label, path, input, token] of cases) {
    const [a, b] = await Promise.all([raw(fast, path, input, token), raw(adapter, path, input, token)])
    await Promise.all([a.until(/serialized-error/, 1), b.until(/serialized-error/, 1)])
    t.equal(a.status, b.status, `${label}: the same status`)
    t.equal(withoutStart(a), b.text(), `${label}: the same bytes`)
    t.match(a.text(), /event: serialized-error\ndata: \{"message":"[^"]+","code":-\d+,"data":\{"code":"[A-Z_]+","httpStatus":\d+,"path":"[a-zA-Z.]+"/, label)
    a.close()
    b.close()
  }
})
