// The bench's own load drivers (raw keep-alive HTTP/1.1 connections, no pipelining):
// - openLoop: requests start on a fixed schedule (rate per second, evenly spaced) whatever the server
//   does, and each latency counts from the request's SCHEDULED start, so time spent queued behind a
//   slow response counts too (no coordinated omission, as wrk2 -R measures).
// - closedLoop: `concurrency` workers each send their next request when the previous one answered
//   (maximum throughput; latencies from such a round understate the tail and are not reported).
import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Worker } from 'node:worker_threads'

export interface Op {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
  /** Which server (base URL), when a round spreads over several. */
  url: string
  /** Checks the answer; returns false for a wrong (stale) one. Runs after the response. */
  check?: (status: number, body: string) => boolean
}

export interface Response {
  status: number
  body: string
}

export interface RoundResult {
  /** Completed requests per second over the round. */
  rps: number
  completed: number
  durationSec: number
  /** Connection errors and timeouts. */
  errors: number
  non2xx: number
  /** Answers `check` rejected. */
  failedChecks: number
  /** Latency percentiles in ms (see the module comment for what they count from). */
  latency: Percentiles
  /** Requests an open loop could not even start (too many outstanding): counted as errors too. */
  dropped: number
  /** The rate asked for (open loop). */
  targetRate?: number
  /**
   * Open loop: how late requests left the client (ms after they were due): timer granularity and the
   * client's own event loop. Included in `latency`; `latencyFromSend` leaves it out.
   */
  sendLag?: Percentiles
  latencyFromSend?: Percentiles
  /** Open loop: per half second of schedule, the answers' p50 / p99 / max latency (ms). */
  timeline?: TimelinePoint[]
}

export interface TimelinePoint {
  /** Seconds from the start of the round (of the requests' scheduled start). */
  at: number
  requests: number
  p50: number
  p99: number
  max: number
}

const SLICE_MS = 500

export interface Percentiles {
  p50: number
  p90: number
  p97_5: number
  p99: number
  p99_9: number
  max: number
  mean: number
}

export function percentiles(samples: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(samples).sort()
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN)
  let sum = 0
  for (const v of sorted) sum += v
  return {
    p50: at(0.5),
    p90: at(0.9),
    p97_5: at(0.975),
    p99: at(0.99),
    p99_9: at(0.999),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  }
}

interface Pending {
  buffer: Buffer
  resolve: (res: Response) => void
  reject: (err: Error) => void
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, with a minimal response parser
 * (Content-Length or chunked bodies). node:http's client costs several times the CPU per request,
 * and the client shares the machine's cores with the servers it measures.
 */
class Connection {
  private readonly socket: Socket
  private data: Buffer = Buffer.alloc(0)
  private current: Pending | undefined
  dead = false

  constructor(
    host: string,
    port: number,
    private readonly timeoutMs: number,
    private readonly onIdle: (conn: Connection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true })
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('timeout', () => this.fail(new Error('timeout')))
    this.socket.on('error', (err) => this.fail(err))
    this.socket.on('close', () => this.fail(new Error('connection closed')))
  }

  send(p: Pending): void {
    this.current = p
    this.data = Buffer.alloc(0)
    this.socket.setTimeout(this.timeoutMs)
    this.socket.write(p.buffer)
  }

  private fail(err: Error): void {
    const wasAlive = !this.dead
    this.dead = true
    this.socket.destroy()
    const p = this.current
    this.current = undefined
    p?.reject(err)
    if (wasAlive) this.onIdle(this) // the pool forgets it
  }

  private onData(chunk: Buffer): void {
    this.data = this.data.length ? Buffer.concat([this.data, chunk]) : chunk
    const headEnd = this.data.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const head = this.data.toString('latin1', 0, headEnd)
    const status = Number(head.slice(9, 12))
    const bodyStart = headEnd + 4
    let body: Buffer | undefined
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    if (length) {
      const end = bodyStart + Number(length[1])
      if (this.data.length < end) return
      body = this.data.subarray(bodyStart, end)
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Buffer[] = []
      let at = bodyStart
      for (;;) {
        const lineEnd = this.data.indexOf('\r\n', at)
        if (lineEnd < 0) return
        const size = parseInt(this.data.toString('latin1', at, lineEnd), 16)
        if (size === 0) {
          if (this.data.length < lineEnd + 4) return
          break
        }
        if (this.data.length < lineEnd + 2 + size + 2) return
        parts.push(this.data.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      body = Buffer.concat(parts)
    } else {
      body = Buffer.alloc(0)
    }
    const p = this.current
    this.current = undefined
    this.data = Buffer.alloc(0)
    this.socket.setTimeout(0)
    p?.resolve({ status, body: body.toString() })
    if (/\r\nconnection:\s*close/i.test(head)) this.fail(new Error('closed by the server'))
    else this.onIdle(this)
  }

  close(): void {
    this.dead = true
    this.socket.destroy()
  }
}

/** Up to `connections` keep-alive connections per server; requests beyond them wait their turn. */
class Pool {
  private readonly idle: Connection[] = []
  private readonly all = new Set<Connection>()
  private readonly queue: Pending[] = []
  private readonly hostHeader: string

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {
    this.hostHeader = `${host}:${port}`
  }

  /** Requests as bytes, by Op: rounds send the same few ops over and over, and the client's own garbage collections would count in the latencies. */
  private readonly encoded = new WeakMap<Op, Buffer>()

  private encode(op: Op): Buffer {
    let head = `${op.method} ${op.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`
    for (const [k, v] of Object.entries(op.headers)) head += `${k}: ${v}\r\n`
    const body = op.body === undefined ? undefined : Buffer.from(op.body)
    if (body) head += `content-type: application/json\r\ncontent-length: ${body.length}\r\n`
    return body ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]) : Buffer.from(head + '\r\n', 'latin1')
  }

  send(op: Op): Promise<Response> {
    let buffer = this.encoded.get(op)
    if (!buffer) this.encoded.set(op, (buffer = this.encode(op)))
    return new Promise((resolve, reject) => {
      const p: Pending = { buffer, resolve, reject }
      let conn = this.idle.pop()
      while (conn?.dead) conn = this.idle.pop()
      if (!conn && this.all.size < this.max) conn = this.open()
      if (conn) conn.send(p)
      else this.queue.push(p)
    })
  }

  private open(): Connection {
    const conn = new Connection(this.host, this.port, this.timeoutMs, (c) => this.release(c))
    this.all.add(conn)
    return conn
  }

  private release(conn: Connection): void {
    if (conn.dead) {
      this.all.delete(conn)
      const next = this.queue.shift()
      if (next) this.open().send(next)
      return
    }
    const next = this.queue.shift()
    if (next) conn.send(next)
    else this.idle.push(conn)
  }

  close(): void {
    for (const c of this.all) c.close()
    for (const p of this.queue.splice(0)) p.reject(new Error('closed'))
  }
}

/** The bench's HTTP client: a pool per server, at most `connections` sockets each, no pipelining. */
export class HttpDriver {
  private readonly pools = new Map<string, Pool>()
  constructor(
    private readonly connections: number,
    private readonly timeoutMs = 10_000,
  ) {}

  send(op: Op): Promise<Response> {
    let pool = this.pools.get(op.url)
    if (!pool) {
      const url = new URL(op.url)
      pool = new Pool(url.hostname, Number(url.port || 80), this.connections, this.timeoutMs)
      this.pools.set(op.url, pool)
    }
    return pool.send(op)
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close()
    this.pools.clear()
  }
}

/**
 * Samples in a Float64Array that doubles as it fills. Its storage is outside V8's heap: a round's
 * hundreds of thousands of latencies in growing arrays made the client's old generation grow by tens
 * of MB, with a mark-compact (5–12 ms, the client stopped) every few seconds, counted in the latencies.
 */
export class Samples {
  private data = new Float64Array(1 << 16)
  length = 0

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.data.length * 2)
    this.data[this.length++] = value
  }

  /**
   * Room for `n` more, made now: an open loop reserves its round's before its schedule starts, since
   * growing mid-round (a new buffer, a copy, and the collection V8 may start for the external memory)
   * stopped the loop for 12–18 ms at the same moment of every round (65,536 samples in).
   */
  reserve(n: number): void {
    if (this.length + n > this.data.length) this.grow(Math.max(this.length + n, this.data.length * 2))
  }

  private grow(size: number): void {
    const grown = new Float64Array(size)
    grown.set(this.values())
    this.data = grown
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length)
  }
}

/** What rounds record; several rounds (slices of one scenario) may share one. */
export class RoundTally {
  /** Seconds the rounds recorded here took, together. */
  elapsedSec = 0
  completed = 0
  errors = 0
  non2xx = 0
  failedChecks = 0
  dropped = 0
  latencies = new Samples()
  fromSend = new Samples()
  lags = new Samples()
  /** Each open-loop latency's place in the schedule (ms), beside it in `latencies`: the timeline. */
  dueAt = new Samples()

  /** Room for `n` more requests' samples (`Samples.reserve`). */
  reserve(n: number): void {
    for (const samples of [this.latencies, this.fromSend, this.lags, this.dueAt]) samples.reserve(n)
  }

  record(op: Op, res: Response, latencyMs: number, fromSendMs?: number): void {
    this.completed++
    this.latencies.push(latencyMs)
    if (fromSendMs !== undefined) this.fromSend.push(fromSendMs)
    if (res.status < 200 || res.status >= 300) this.non2xx++
    else if (op.check) {
      let ok = false
      try {
        ok = op.check(res.status, res.body)
      } catch {
        // an answer the check cannot read is a failed one
      }
      if (!ok) this.failedChecks++
    }
  }

  /** Latencies by half second of the schedule. */
  private timeline(): TimelinePoint[] {
    const latencies = this.latencies.values()
    const dueAt = this.dueAt.values()
    const slices: (number[] | undefined)[] = []
    for (let i = 0; i < dueAt.length; i++) (slices[Math.floor(dueAt[i]! / SLICE_MS)] ??= []).push(latencies[i]!)
    return Array.from(slices, (xs, i) => {
      const p = percentiles(xs ?? [])
      return { at: (i * SLICE_MS) / 1000, requests: xs?.length ?? 0, p50: p.p50, p99: p.p99, max: p.max }
    })
  }

  result(targetRate?: number): RoundResult {
    const durationSec = this.elapsedSec
    return {
      rps: this.completed / durationSec,
      completed: this.completed,
      durationSec,
      errors: this.errors + this.dropped,
      non2xx: this.non2xx,
      failedChecks: this.failedChecks,
      latency: percentiles(this.latencies.values()),
      dropped: this.dropped,
      ...(targetRate !== undefined
        ? {
            targetRate,
            sendLag: percentiles(this.lags.values()),
            latencyFromSend: percentiles(this.fromSend.values()),
            timeline: this.timeline(),
          }
        : {}),
    }
  }
}

export interface RoundOptions {
  durationSec: number
  /** Record into this (shared by the slices of one scenario); a fresh one by default. */
  tally?: RoundTally
  /** Builds the next request; called when it is about to start. */
  next: () => Op
  /** Stop early (SIGINT). */
  signal?: AbortSignal
}

/** Max throughput: `concurrency` requests in flight at all times. */
export async function closedLoop(driver: HttpDriver, options: RoundOptions & { concurrency: number }): Promise<RoundResult> {
  const tally = options.tally ?? new RoundTally()
  const start = performance.now()
  const end = start + options.durationSec * 1000
  const worker = async () => {
    while (performance.now() < end && !options.signal?.aborted) {
      const op = options.next()
      const t0 = performance.now()
      try {
        const res = await driver.send(op)
        tally.record(op, res, performance.now() - t0)
      } catch {
        tally.errors++
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  tally.elapsedSec += (performance.now() - start) / 1000
  return tally.result()
}

/**
 * How the open loop wakes to send: `timer` on Node's timers, which are whole milliseconds, so what
 * falls due within one goes out together (at 10,000/s, bursts of ten); `precise` every `everyMs`
 * (fractions of a millisecond) from a worker thread asleep on a futex between ticks, so requests go
 * out about when they are due, one or two at a time, as independent clients send them. Neither spins.
 */
export type Pacing = { kind: 'timer' } | { kind: 'precise'; everyMs: number }

const PRECISE_EVERY_MS = 0.1
export const DEFAULT_PACING: Pacing = { kind: 'precise', everyMs: PRECISE_EVERY_MS }

/** `--pacing`: `timer`, `precise` (every 0.1 ms) or `precise:<ms>`. */
export function pacingOf(text: string): Pacing {
  if (text === 'timer') return { kind: 'timer' }
  const m = /^precise(?::(\d*\.?\d+))?$/.exec(text)
  const everyMs = m ? Number(m[1] ?? PRECISE_EVERY_MS) : NaN
  if (!(everyMs >= 0.01 && everyMs <= 100)) throw new Error(`--pacing ${text}: expected timer, precise or precise:<ms> (0.01-100)`)
  return { kind: 'precise', everyMs }
}

export const pacingLine = (p: Pacing): string => (p.kind === 'timer' ? "paced by Node's ms timers" : `paced every ${p.everyMs} ms`)

// The ticker's thread: while running (cell 2 is 0) sleeps `everyMs` on a futex (Atomics.wait takes
// fractional milliseconds) and posts a tick; paused (cell 2 is 1) it waits to be woken; it ends when
// cell 1 is set (`closePacing`).
const TICKER = `
const { parentPort, workerData } = require('node:worker_threads')
const cells = new Int32Array(workerData.shared)
while (Atomics.load(cells, 1) === 0) {
  if (Atomics.load(cells, 2) === 1) {
    Atomics.wait(cells, 2, 1)
    continue
  }
  Atomics.wait(cells, 0, 0, workerData.everyMs)
  parentPort.postMessage(0)
}
`

/**
 * One ticker thread per period, started at first use and kept (paused between rounds, and never
 * keeping the process alive): a thread takes tens of milliseconds to start, which a round's schedule
 * would otherwise spend.
 */
const tickers = new Map<number, { cells: Int32Array; listeners: Set<() => void>; worker: Worker }>()

/** Ends the ticker threads (a thread asleep on a futex would keep the process from exiting). */
export async function closePacing(): Promise<void> {
  const all = [...tickers.values()]
  tickers.clear()
  await Promise.all(
    all.map(({ cells, worker }) => {
      Atomics.store(cells, 1, 1)
      Atomics.store(cells, 2, 0)
      Atomics.notify(cells, 2)
      return worker.terminate()
    }),
  )
}

/** Calls `tick` about every `everyMs` on this thread's event loop, until the returned function is called. */
function preciseTicks(everyMs: number, tick: () => void): () => void {
  let t = tickers.get(everyMs)
  if (!t) {
    const shared = new SharedArrayBuffer(12)
    const cells = new Int32Array(shared)
    cells[2] = 1
    const worker = new Worker(TICKER, { eval: true, workerData: { shared, everyMs } })
    worker.unref()
    const listeners = new Set<() => void>()
    worker.on('message', () => {
      for (const l of listeners) l()
    })
    tickers.set(everyMs, (t = { cells, listeners, worker }))
  }
  const { cells, listeners } = t
  listeners.add(tick)
  Atomics.store(cells, 2, 0)
  Atomics.notify(cells, 2)
  return () => {
    listeners.delete(tick)
    if (listeners.size === 0) Atomics.store(cells, 2, 1)
  }
}

/**
 * A full collection of this process, where V8 allows it (`--expose-gc`, set here at run time): an open
 * loop starts from a clean heap, so that the previous round's garbage (its samples, percentiles and
 * timeline) is not collected in this round's first moments, stopping the loop (11–18 ms seen).
 */
const collectGarbage: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as () => void) : () => {}
  } catch {
    return () => {}
  }
})()

/**
 * A fixed arrival rate: request i is due at start + i/rate, is sent when the loop next wakes (its
 * `pacing`), and its latency runs from when it was due to when its answer arrived.
 */
export async function openLoop(
  driver: HttpDriver,
  options: RoundOptions & {
    rate: number
    maxOutstanding?: number
    pacing?: Pacing
    /**
     * Start with a full collection of this process (default true). Slices run right after an
     * unmeasured warm-up at their rate pass false: the collection's after-effects (sweeping on this
     * process's core) land in the warm-up, not in the measured first moments.
     */
    collect?: boolean
  },
): Promise<RoundResult> {
  const tally = options.tally ?? new RoundTally()
  const pacing = options.pacing ?? DEFAULT_PACING
  // Where this round's schedule starts on the tally's timeline (after earlier slices).
  const offsetMs = tally.elapsedSec * 1000
  const interval = 1000 / options.rate
  const total = Math.max(1, Math.floor(options.rate * options.durationSec))
  const maxOutstanding = options.maxOutstanding ?? 10_000
  tally.reserve(total)
  if (options.collect !== false) collectGarbage()
  let start = performance.now() + 5
  let sent = 0
  let outstanding = 0
  let settle: () => void = () => {}
  const allDone = new Promise<void>((resolve) => (settle = resolve))
  const finishIfDone = () => {
    if (outstanding === 0 && (sent === total || options.signal?.aborted)) settle()
  }

  const fire = (due: number) => {
    if (outstanding >= maxOutstanding) {
      tally.dropped++
      return
    }
    const op = options.next()
    outstanding++
    const sentAt = performance.now()
    tally.lags.push(sentAt - due)
    driver.send(op).then(
      (res) => {
        const now = performance.now()
        tally.record(op, res, now - due, now - sentAt)
        tally.dueAt.push(due - start + offsetMs)
      },
      () => {
        tally.errors++
      },
    ).finally(() => {
      outstanding--
      finishIfDone()
    })
  }

  /** Sends what is due; true once the schedule is done. */
  const sendDue = (): boolean => {
    const now = performance.now()
    while (sent < total && start + sent * interval <= now && !options.signal?.aborted) {
      fire(start + sent * interval)
      sent++
    }
    return sent >= total || options.signal?.aborted === true
  }

  if (pacing.kind === 'precise') {
    await new Promise<void>((resolve) => {
      let started = false
      const stop = preciseTicks(pacing.everyMs, () => {
        // The schedule starts at the first tick: a ticker just started takes a while to come.
        if (!started) {
          started = true
          start = performance.now()
        }
        if (!sendDue()) return
        stop()
        resolve()
      })
    })
  } else {
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (sendDue()) {
          resolve()
          return
        }
        // Timers are ms-grained: what falls due meanwhile goes out together on the next tick (never a
        // busy loop: the client shares the machine's cores with the servers).
        const wait = start + sent * interval - performance.now()
        setTimeout(tick, Math.max(1, Math.floor(wait)))
      }
      tick()
    })
  }
  finishIfDone()
  await allDone
  tally.elapsedSec += (performance.now() - start) / 1000
  return tally.result(options.rate)
}
