// Counts hits per key in fixed windows, in this process, synchronously: the per-address and per-user
// read limits run on every request, cache hits included, so they must cost a Map lookup and nothing
// that waits (no promise, no timer per request). Counters shared across instances (writes,
// subscription starts) stay on @fastify/rate-limit's Redis store.

export interface WindowCounter {
  /** Counts one hit of `key`: 0 when within the limit, else the seconds until its window ends (>= 1). */
  hit(key: string): number
  /** Counts `n` hits of `key` if they all stay within the limit (true); else counts nothing (false). */
  take(key: string, n: number): boolean
  /** Uncounts `n` hits taken moments ago (never below zero: a window that ended meanwhile owes nothing). */
  giveBack(key: string, n: number): void
  /** Keys counted in live windows (for tests and a bound on memory). */
  readonly size: number
  close(): void
}

interface Entry {
  count: number
  resetAt: number
}

export function windowCounter(options: { max: number; windowMs: number; maxKeys?: number; now?: () => number }): WindowCounter {
  const { max, windowMs } = options
  const maxKeys = options.maxKeys ?? 100_000
  const now = options.now ?? Date.now
  const entries = new Map<string, Entry>()
  // Windows that ended are dropped once per window, so idle keys do not stay.
  const sweep = setInterval(() => {
    const t = now()
    for (const [key, e] of entries) if (e.resetAt <= t) entries.delete(key)
  }, windowMs)
  sweep.unref()

  /** The live window of `key`, opened if there is none. */
  function windowOf(key: string, t: number): Entry {
    let e = entries.get(key)
    if (e === undefined || e.resetAt <= t) {
      // A flood of distinct keys (spoofed addresses cannot reach us over TCP, but many users can)
      // evicts the oldest windows first: memory stays bounded, a client gains at most a fresh window.
      if (e === undefined && entries.size >= maxKeys) entries.delete(entries.keys().next().value!)
      e = { count: 0, resetAt: t + windowMs }
      entries.set(key, e)
    }
    return e
  }

  return {
    hit(key) {
      const t = now()
      const e = windowOf(key, t)
      return ++e.count <= max ? 0 : Math.max(1, Math.ceil((e.resetAt - t) / 1000))
    },
    take(key, n) {
      const e = windowOf(key, now())
      if (e.count + n > max) return false
      e.count += n
      return true
    },
    giveBack(key, n) {
      const e = entries.get(key)
      if (e !== undefined) e.count = Math.max(0, e.count - n)
    },
    get size() {
      return entries.size
    },
    close() {
      clearInterval(sweep)
      entries.clear()
    },
  }
}
