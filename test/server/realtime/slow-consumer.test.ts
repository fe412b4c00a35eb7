// A subscriber that stops reading cannot make the server hold its events without bound: once the
// socket is full and the stream's buffer (SUBSCRIPTION_BUFFER events) overflows, the server ends that
// stream; the client resumes from its last event and misses nothing.
import { connect } from 'node:net'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { onCreated, opened, subscriberClient } from '../../helpers/subscriber.js'

/** The body of a raw chunked HTTP response (as far as it arrived). */
function dechunk(raw: string): string {
  let rest = raw.slice(raw.indexOf('\r\n\r\n') + 4)
  let body = ''
  for (;;) {
    const eol = rest.indexOf('\r\n')
    if (eol < 0) return body
    const size = parseInt(rest.slice(0, eol), 16)
    if (!(size > 0) || rest.length < eol + 2 + size) return body
    body += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 4 + size)
  }
}

/** Ids of the complete SSE events in a raw stream. */
const idsIn = (raw: string) => [...dechunk(raw).matchAll(/^data: .*\nid: (.+)\n\n/gm)].map((m) => m[1]!)

// Filling a socket takes a few hundred writes of large messages: more than the default file timeout
// on a busy machine.
t.setTimeout(300_000)

t.test('a stalled reader overflows its buffer: its stream ends, and it resumes losing nothing', { timeout: 280_000 }, async (t) => {
  // Up to a thousand creates in moments: a flood by design, past the per-user write limit.
  const app = await testApp(t, { env: { SUBSCRIPTION_BUFFER: '20', RATE_LIMIT_WRITES_PER_MINUTE: '100000' } })
  const brown = subscriberClient(app.url, await app.token('andrewbrown'))
  const group = (await brown.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid

  // A raw SSE client that reads the first bytes, then stops reading.
  const url = new URL(app.url)
  const socket = connect(Number(url.port), url.hostname)
  const params = new URLSearchParams({
    connectionParams: JSON.stringify({ token: await app.token('bayko') }),
    input: JSON.stringify({ messageGroupUuid: group }),
  })
  socket.write(`GET /trpc/messages.onCreated?${params} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`)
  let received = ''
  const stream = { ended: false }
  socket.setEncoding('utf8').on('data', (c: string) => (received += c))
  socket.on('end', () => (stream.ended = true))
  socket.on('error', () => (stream.ended = true))
  await opened(() => app.metrics.registry.metrics(), 1)
  socket.pause()

  // Messages whose JSON is large (control characters are escaped six bytes each) fill the socket fast.
  const big = (i: number) => `${i} ${'\u0001'.repeat(1000)}`
  const sent: string[] = []
  for (let batch = 0; batch < 40 && !/ended_total\{reason="overflow"\} 1/.test(await app.metrics.registry.metrics()); batch++) {
    const created = await Promise.all(Array.from({ length: 25 }, (_, i) => brown.messages.create.mutate({ messageGroupUuid: group, message: big(batch * 25 + i) })))
    sent.push(...created.map((c) => c.message.uuid))
  }
  const metrics = await app.metrics.registry.metrics()
  t.match(metrics, /cruddur_subscriptions_ended_total\{reason="overflow"\} 1/, 'the stream was ended for overflowing')
  t.ok(sent.length < 1000, `it took ${sent.length} messages, not all of them`)

  // Reading again: the stalled client gets what the socket held, then the end of the stream.
  socket.resume()
  for (let i = 0; i < 200 && !stream.ended && !received.endsWith('0\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 50))
  socket.destroy()
  const got = idsIn(received)
  t.ok(got.length > 0 && got.length < sent.length, `the stalled client got a prefix (${got.length} of ${sent.length})`)
  const all = (await brown.messages.list.query({ messageGroupUuid: group, limit: 100 })).items
  t.ok(all.length > 0)

  // It resumes from its last event (as its EventSource does) and misses nothing.
  const resumed = onCreated(subscriberClient(app.url, await app.token('bayko')), group, got.at(-1))
  t.teardown(() => { resumed.stop() })
  const missing = sent.length - got.length
  await resumed.until((e) => e.length >= missing, 30_000, 'the rest')
  t.same([...new Set([...got, ...resumed.events.map((e) => e.id)])].length, sent.length, 'every message, once in all')
  t.same(resumed.events.map((e) => e.data.uuid), sent.slice(got.length), 'the rest, in order')
})
