// How an open loop wakes to send: on Node's ms timers, or from a ticker thread every fraction of a
// millisecond (`--pacing`).
import { Worker } from 'node:worker_threads'

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
export function preciseTicks(everyMs: number, tick: () => void): () => void {
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
