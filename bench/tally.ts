// What a round records and how it is summed up: latency samples outside V8's heap, percentiles, the
// timeline by half second, and the counts of a round (or of the slices of one scenario).
import type { Op, Response } from './http-driver.js'

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
  /** Latency percentiles in ms (load.ts says what they count from). */
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
