// The bench's load generator (bench/load.ts, over bench/http-driver.ts) against real HTTP servers in
// other processes: the open loop keeps its schedule through a server's stall and counts every request
// due during it from when it was due (no coordinated omission), where a closed loop sees only the few
// in flight; the closed loop keeps exactly its concurrency in flight; slices add up.
import { type ChildProcess, spawn } from 'node:child_process'
import t, { type Test } from 'tap'
import { HttpDriver, type Op } from '../../bench/http-driver.js'
import { closedLoop, openLoop } from '../../bench/load.js'
import { closePacing } from '../../bench/pacing.js'
import { RoundTally } from '../../bench/tally.js'

/**
 * A node:http server in its own process answering `ok` after `delayMs`; its event loop blocked for
 * `stallMs` at its `stallAt`-th request (0: never). Prints its port, then the most requests it held at once.
 */
const SERVER = `
const http = require('node:http')
const { delayMs, stallAt, stallMs } = JSON.parse(process.argv[1])
let n = 0, open = 0, most = 0
http.createServer((req, res) => {
  n++
  open++
  most = Math.max(most, open)
  if (n === stallAt) { const end = Date.now() + stallMs; while (Date.now() < end); }
  const answer = () => { open--; res.end('ok') }
  delayMs ? setTimeout(answer, delayMs) : answer()
}).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port) })
process.on('SIGTERM', () => { console.log('most ' + most); process.exit(0) })
`

async function server(t: Test, options: { delayMs?: number; stallAt?: number; stallMs?: number }) {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, JSON.stringify({ delayMs: 0, stallAt: 0, stallMs: 0, ...options })], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /port (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', () => reject(new Error(`server exited: ${out}`)))
  })
  t.teardown(() => {
    child.kill('SIGKILL')
  })
  return {
    op: { method: 'GET', url: `http://127.0.0.1:${port}`, path: '/', headers: {} } satisfies Op,
    /** Stops it; the most requests it held at once. */
    async most(): Promise<number> {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
      return Number(/most (\d+)/.exec(out)?.[1])
    },
  }
}

t.teardown(closePacing)

t.test('the open loop keeps its schedule through a stall and counts each request from when it was due', async (t) => {
  // 1,000/s for 2.5 s over 10 connections after 300 to warm up; the server stops for 300 ms at the
  // round's 600th request, due 0.6 s in: the requests due until 0.9 s wait for it.
  const { op } = await server(t, { stallAt: 300 + 600, stallMs: 300 })
  const driver = new HttpDriver(10)
  t.teardown(() => driver.close())
  await openLoop(driver, { rate: 1000, durationSec: 0.3, next: () => op }) // connections open, code warm
  const r = await openLoop(driver, { rate: 1000, durationSec: 2.5, next: () => op })
  t.equal(r.completed, 2500, 'every request of the schedule was sent and answered')
  t.equal(r.errors, 0)
  // About 300 requests fell due during the stall; each waited for what was left of it.
  const timeline = r.timeline!
  const p99s = timeline.map((s) => s.p99.toFixed(0)).join(' ')
  t.ok(r.latency.max > 250, `the longest wait is the stall's (${r.latency.max.toFixed(0)} ms)`)
  t.ok(r.latency.p90 > 50, `the stall is in the tail: p90 ${r.latency.p90.toFixed(1)} ms`)
  const worst = timeline.reduce((a, b) => (b.p99 > a.p99 ? b : a))
  t.equal(worst.at, 0.5, `the half second the stall fell in is the worst: ${p99s}`)
  t.ok(worst.p99 > 200 && worst.p50 > 50, 'most requests due then waited')
  // The backlog drains 10 requests at a time, how fast depends on the machine: before the stall, and
  // a second after it, the requests are quick again.
  t.ok(timeline[0]!.p99 < 200 && timeline[0]!.p50 < 50, `the half second before it is quick: ${p99s}`)
  t.ok(timeline.slice(-2).every((s) => s.p50 < 50), `the last second is quick at p50: ${timeline.map((s) => s.p50.toFixed(0)).join(' ')}`)

  // The same server and stall under a closed loop: only the requests in flight see it.
  const closedServer = await server(t, { stallAt: 500, stallMs: 300 })
  const closed = await closedLoop(driver, { concurrency: 10, durationSec: 1.5, next: () => closedServer.op })
  t.ok(closed.latency.p90 < 50, `a closed loop hides it: p90 ${closed.latency.p90.toFixed(1)} ms`)
})

t.test('an open loop over slices: one timeline, the seconds and requests summed', async (t) => {
  const { op } = await server(t, {})
  const driver = new HttpDriver(4)
  t.teardown(() => driver.close())
  const tally = new RoundTally()
  await openLoop(driver, { rate: 400, durationSec: 0.5, tally, next: () => op })
  const r = await openLoop(driver, { rate: 400, durationSec: 0.5, tally, next: () => op })
  t.equal(r.completed, 400)
  t.ok(r.durationSec > 0.9 && r.durationSec < 1.5, `two slices' seconds (${r.durationSec.toFixed(2)})`)
  t.equal(r.rps, r.completed / r.durationSec)
  // The second slice's schedule continues where the first one's ended, not from 0 again.
  const perHalfSecond = r.timeline!.map((s) => s.requests)
  t.equal(perHalfSecond.length, 2, `one timeline of two half seconds: ${perHalfSecond.join(', ')}`)
  t.ok(perHalfSecond.every((n) => Math.abs(n - 200) <= 5), 'each about one slice')
})

t.test('the closed loop keeps its concurrency in flight, never more', async (t) => {
  const s = await server(t, { delayMs: 20 })
  const driver = new HttpDriver(50)
  t.teardown(() => driver.close())
  const r = await closedLoop(driver, { concurrency: 5, durationSec: 0.5, next: () => s.op })
  t.ok(r.completed >= 5 * 15 && r.completed <= 5 * 26, `about 25 rounds of 5 in 0.5 s (${r.completed})`)
  t.equal(await s.most(), 5)
})
