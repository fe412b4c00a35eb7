// The bench's two loops, over its HTTP client (http-driver.ts):
// - openLoop: requests start on a fixed schedule (rate per second, evenly spaced) whatever the server
//   does, and each latency counts from the request's SCHEDULED start, so time spent queued behind a
//   slow response counts too (no coordinated omission, as wrk2 -R measures).
// - closedLoop: `concurrency` workers each send their next request when the previous one answered
//   (maximum throughput; latencies from such a round understate the tail and are not reported).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { HttpDriver, Op } from './http-driver.js'
import { DEFAULT_PACING, type Pacing, preciseTicks } from './pacing.js'
import { type RoundResult, RoundTally } from './tally.js'

/**
 * Unmeasured seconds at a fixed-rate slice's rate before it, which also take the load generator's
 * collection (`openLoop`'s `collect`): measured right after it, the nginx floor's first half second of
 * each slice had a p99 of mostly 9–20 ms against 2–4 in its second (eighth round of docs/benchmark.md).
 * The servers, idle through the others' turns, start measured slices warm too. `npm run bench` and
 * `bench:ab` alike.
 */
export const SLICE_WARMUP_SEC = 0.5

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
