// Helpers of the cache tests (not a test file): metric values, a log collector, a silent logger,
// a gate that pauses a source read after it has read, and a Redis cache backend of the test's own.
import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type { Counter, Gauge } from 'prom-client'
import type { Test } from 'tap'
import type { CacheBackend } from '../../../server/cache/cache-backend.js'
import { createRedisCache } from '../../../server/cache/redis-cache.js'
import { createRedisClient } from '../../../server/cache/redis-client.js'
import type { Config } from '../../../server/config.js'
import type { Metrics } from '../../../server/metrics.js'
import type { Reads } from '../../../server/services/reads.js'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The sum of a counter's (or gauge's) values whose labels include `labels`. */
export async function value(metric: Counter | Gauge, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get()
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0)
}

/** Polls `check` every `everyMs` until it is true; false after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > end) return false
    await sleep(everyMs)
  }
}

export interface Deferred<T = void> {
  promise: Promise<T>
  resolve(value: T): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Collects the app's pino lines (`logger: { level: 'info', stream: logs.stream }`). */
export function logCollector() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line.trim()) continue
        try {
          lines.push(JSON.parse(line) as (typeof lines)[number])
        } catch {
          lines.push({ level: 0, msg: line })
        }
      }
      done()
    },
  })
  return {
    stream,
    lines,
    /** How many lines' messages start with `prefix`. */
    count: (prefix: string) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix)).length,
  }
}

/** A logger that drops everything (for backends built outside an app). */
export function silentLogger(): FastifyBaseLogger {
  const noop = () => {}
  const log = { level: 'silent', fatal: noop, error: noop, warn: noop, info: noop, debug: noop, trace: noop, silent: noop, child: () => log }
  return log
}

/**
 * A source whose reads can be paused AFTER they read: the stale-set race needs a reader that holds an
 * old value while a write lands. `hold(method)` arms the next call of that method; `reads` counts
 * every call by method.
 */
export function gatedReads(source: Reads) {
  type Method = keyof Reads
  const reads: Record<Method, number> = { userBySub: 0, userByHandle: 0, listGroups: 0, listMessages: 0, otherParticipant: 0 }
  const armed = new Map<Method, { loaded: Deferred<unknown>; release: Deferred }[]>()
  let delayMs = 0

  function wrap<M extends Method>(method: M): Reads[M] {
    return (async (...args: unknown[]) => {
      reads[method]++
      const value = await (source[method] as (...a: unknown[]) => Promise<unknown>)(...args)
      if (delayMs) await sleep(delayMs)
      const gate = armed.get(method)?.shift()
      if (gate) {
        gate.loaded.resolve(value)
        await gate.release.promise
      }
      return value
    }) as Reads[M]
  }

  return {
    reads,
    /** Every source read also takes this long (after reading). */
    setDelay(ms: number) {
      delayMs = ms
    },
    /** Pauses the next call of `method` once it has read; `loaded` resolves with what it read. */
    hold(method: Method) {
      const gate = { loaded: deferred<unknown>(), release: deferred() }
      armed.set(method, [...(armed.get(method) ?? []), gate])
      return { loaded: gate.loaded.promise, release: () => gate.release.resolve() }
    },
    source: {
      userBySub: wrap('userBySub'),
      userByHandle: wrap('userByHandle'),
      listGroups: wrap('listGroups'),
      listMessages: wrap('listMessages'),
      otherParticipant: wrap('otherParticipant'),
    } satisfies Reads,
  }
}

/** A Redis cache backend as the app builds it (same client options), up before it is returned. */
export async function redisBackend(
  t: Test,
  options: { redis: Config['redis']; prefix: string; metrics: Metrics; commandTimeoutMs?: number; log?: FastifyBaseLogger },
): Promise<CacheBackend> {
  const client = createRedisClient({ redis: options.redis, redisCommandTimeoutMs: options.commandTimeoutMs ?? 1000 })
  if (!client) throw new Error('not a Redis configuration')
  const cache = createRedisCache({
    client,
    prefix: options.prefix,
    ttlSeconds: 600,
    log: options.log ?? silentLogger(),
    metrics: options.metrics,
  })
  t.teardown(() => cache.close())
  if (!(await waitFor(() => cache.status() === 'up', 10_000))) throw new Error('Redis cache did not come up')
  return cache
}

/** A backend that reports every call, to see where a request is (e.g. "its lookup has answered"). */
export function spiedBackend(inner: CacheBackend) {
  const events: string[] = []
  const waiters: { match: (e: string) => boolean; done: Deferred }[] = []
  const emit = (e: string) => {
    events.push(e)
    for (const w of [...waiters]) {
      if (!w.match(e)) continue
      waiters.splice(waiters.indexOf(w), 1)
      w.done.resolve()
    }
  }
  const backend: CacheBackend = {
    ...inner,
    async lookup(ref) {
      const r = await inner.lookup(ref)
      emit(`lookup ${ref.entity} ${r === null ? 'null' : 'hit' in r ? 'hit' : 'miss'}`)
      return r
    },
    async acquire(ref) {
      const r = await inner.acquire(ref)
      emit(`acquire ${ref.entity} ${r === null ? 'null' : r === false ? 'held' : 'token'}`)
      return r
    },
    async fill(ref, token, epoch, v) {
      const r = await inner.fill(ref, token, epoch, v)
      emit(`fill ${ref.entity} ${r}`)
      return r
    },
  }
  return {
    backend,
    events,
    /** Resolves at the next event (from now) matching `match`. */
    next(match: (e: string) => boolean): Promise<void> {
      const done = deferred()
      waiters.push({ match, done })
      return done.promise
    },
  }
}

/** Lets every pending promise callback and I/O callback of this turn run. */
export const settle = async (turns = 3) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r))
}
