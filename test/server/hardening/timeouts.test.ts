// Timeouts (issue 8): headers and whole requests that arrive too slowly are answered 408 in tRPC's
// shape and closed; idle keep-alive connections are closed; a client slow within the limits passes;
// a subscription's stream outlives every one of them. Small values here; defaults in server/config.ts.
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { subscribe } from '../../helpers/sse-client.js'
import { expectResult, jsonPost } from '../trpc/wire.js'
import { bodyOf, rawSocket } from './http.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Writes `text` in `pieces` parts, `gapMs` apart; stops quietly once the socket is gone. */
async function trickle(socket: import('node:net').Socket, text: string, pieces: number, gapMs: number): Promise<void> {
  const size = Math.ceil(text.length / pieces)
  for (let i = 0; i < text.length && !socket.destroyed; i += size) {
    socket.write(text.slice(i, i + size))
    await sleep(gapMs)
  }
}

t.test('timeouts', async (t) => {
  const app = await testApp(t, { env: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2500', KEEP_ALIVE_TIMEOUT_MS: '800' } })
  const token = await app.token('andrewbrown')
  const head = `GET /trpc/users.me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Pad: ${'p'.repeat(40)}\r\n\r\n`

  await t.test('headers arriving slowly but within the limit: answered', async (t) => {
    const { socket, received } = await rawSocket(app.url)
    await trickle(socket, head, 5, 120)
    await sleep(300)
    socket.end()
    const { text } = await received
    t.match(text, /^HTTP\/1\.1 200/, 'answered 200')
  })

  await t.test('headers that never finish: 408 in tRPC shape, closed', async (t) => {
    const { socket, received } = await rawSocket(app.url)
    void trickle(socket, head, 200, 100) // 20 s of headers
    const { text, closedAfterMs } = await received
    t.ok(closedAfterMs < 5_000, `closed after ${String(closedAfterMs)} ms`)
    t.match(text, /^HTTP\/1\.1 408/)
    const body = bodyOf(text)
    t.equal(body.error.data.code, 'TIMEOUT')
    t.equal(body.error.data.httpStatus, 408)
  })

  await t.test('a body trickled within the request timeout: answered', async (t) => {
    const body = JSON.stringify({ message: 'slow but fine', handle: 'bayko' })
    const { socket, received } = await rawSocket(app.url)
    socket.write(`POST /trpc/messages.create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n`)
    await trickle(socket, body, 4, 250)
    const { text } = await received
    t.match(text, /^HTTP\/1\.1 200/, 'answered 200')
  })

  await t.test('a body that never finishes: 408, closed', async (t) => {
    const { socket, received } = await rawSocket(app.url)
    socket.write(`POST /trpc/messages.create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n`)
    void trickle(socket, 'x'.repeat(10_000), 10_000, 200)
    const { text, closedAfterMs } = await received
    t.ok(closedAfterMs < 7_000, `closed after ${String(closedAfterMs)} ms (request timeout 2.5 s)`)
    t.match(text, /^HTTP\/1\.1 408/)
    t.equal(bodyOf(text).error.data.code, 'TIMEOUT')
  })

  await t.test('an idle keep-alive connection is closed', async (t) => {
    const { socket, received } = await rawSocket(app.url)
    socket.write(head)
    const { text, closedAfterMs } = await received
    t.match(text, /^HTTP\/1\.1 200/)
    t.ok(closedAfterMs >= 700 && closedAfterMs < 5_000, `closed ${String(closedAfterMs)} ms after connecting (keep-alive 0.8 s)`)
  })

  await t.test('a subscription stream outlives every timeout', async (t) => {
    const created = expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'start', handle: 'londo' }, token))) as { messageGroupUuid: string }
    const stream = subscribe({ url: app.url, path: 'messages.onCreated', input: { messageGroupUuid: created.messageGroupUuid }, token, reconnectMs: 60_000 })
    t.teardown(() => {
      stream.close()
    })
    await stream.connected()
    await sleep(4_000) // past the request (2.5 s), header (1 s) and keep-alive (0.8 s) timeouts
    expectResult(t, await app.call('/trpc/messages.create', jsonPost({ message: 'later', messageGroupUuid: created.messageGroupUuid }, token)))
    for (let i = 0; i < 100 && stream.received.length === 0; i++) await sleep(50)
    t.equal(stream.connects, 1, 'never reconnected: the first stream still open')
    t.same(stream.received.map((e) => (e.data as { message: string }).message), ['later'], 'the message arrived on it')
  })
})
