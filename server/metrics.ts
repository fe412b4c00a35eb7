// Prometheus metrics (prom-client), one registry per app so several apps can share a process.
// What every call updates (its count and latency, the cache hits it was answered with) is kept in
// plain numbers and folded into prom-client when /metrics is read: prom-client hashes a label set on
// every update, a few hundred ns each, several times per cache hit.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { BoundHistogram, type BoundObserver } from './lib/bound-histogram.js'

export interface Metrics {
  registry: Registry
  requests: Counter<'procedure' | 'code'>
  duration: BoundHistogram<'procedure'>
  cacheHits: Counter<'entity'>
  cacheMisses: Counter<'entity'>
  cacheFills: Counter<'entity'>
  cacheStaleFillsRejected: Counter<'entity'>
  cacheInvalidations: Counter
  redisErrors: Counter
  redisUp: Gauge
  fastPathAnswers: Counter
  rateLimited: Counter<'scope'>
  realtime: {
    open: Gauge<'kind'>
    delivered: Counter<'kind'>
    catchUps: Counter<'kind'>
    catchUpEvents: Counter<'kind'>
    latency: Histogram<'kind'>
    gapsSkipped: Counter
    ended: Counter<'reason'>
    refused: Counter<'reason'>
    busUp: Gauge
    busReconnects: Counter
    publishFailures: Counter
  }
  /** One procedure call's latency, and its count when `code` is given (label children are kept: this runs per call). */
  observeCall(procedure: string, code: string | undefined, seconds: number): void
  /** The counter (and timer) of one procedure's calls with this code, to keep: a call through it takes no lookup. */
  callObserver(procedure: string, code: string | undefined): (seconds: number) => void
  /** The counter of one entity kind's cache hits (cruddur_cache_hits_total), to keep: counted in process until scraped. */
  hitCounter(entity: string): () => void
  /**
   * One request answered by the fast path (cruddur_fast_path_responses_total), at the server's front
   * door or inside Fastify (its `via` label), counted until scraped.
   */
  countFastPathAnswer(via: FastPathVia): void
}

/** Where the fast path answered: before Fastify routed the request, or inside it. */
export type FastPathVia = 'front_door' | 'fastify'

interface CallTally {
  /** The requests counter's labels; undefined for calls that are timed here but counted elsewhere. */
  labels: { procedure: string; code: string } | undefined
  /** Calls since the last scrape. */
  pending: number
  time: BoundObserver
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  const registers = [registry]
  /** Cache hits by entity since the last scrape. */
  const hits = new Map<string, { pending: number }>()
  const fastPathAnswers: Record<FastPathVia, number> = { front_door: 0, fastify: 0 }
  /** Per procedure, per code (undefined: timed, counted elsewhere): the call's count since the last scrape and its latency observer. */
  const calls = new Map<string, Map<string | undefined, CallTally>>()
  const metrics: Omit<Metrics, 'observeCall' | 'callObserver' | 'hitCounter' | 'countFastPathAnswer'> = {
    registry,
    requests: new Counter({
      name: 'cruddur_trpc_requests_total',
      help: 'Procedure calls by procedure and result code (OK or the tRPC error code)',
      labelNames: ['procedure', 'code'],
      registers,
      collect() {
        for (const byCode of calls.values()) {
          for (const c of byCode.values()) {
            if (c.labels && c.pending > 0) this.inc(c.labels, c.pending)
            c.pending = 0
          }
        }
      },
    }),
    duration: new BoundHistogram(
      'cruddur_trpc_request_duration_seconds',
      'Procedure latency',
      ['procedure'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    ),
    cacheHits: new Counter({
      name: 'cruddur_cache_hits_total',
      help: 'Cache hits',
      labelNames: ['entity'],
      registers,
      collect() {
        for (const [entity, h] of hits) {
          if (h.pending > 0) this.inc({ entity }, h.pending)
          h.pending = 0
        }
      },
    }),
    cacheMisses: new Counter({ name: 'cruddur_cache_misses_total', help: 'Cache misses', labelNames: ['entity'], registers }),
    cacheFills: new Counter({ name: 'cruddur_cache_fills_total', help: 'Entries stored after a miss', labelNames: ['entity'], registers }),
    cacheStaleFillsRejected: new Counter({
      name: 'cruddur_cache_stale_fills_rejected_total',
      help: 'Fills refused because a write invalidated the entry while it was being read',
      labelNames: ['entity'],
      registers,
    }),
    cacheInvalidations: new Counter({
      name: 'cruddur_cache_invalidations_total',
      help: 'Cache entries invalidated by writes',
      registers,
    }),
    redisErrors: new Counter({ name: 'cruddur_redis_errors_total', help: 'Failed or timed-out Redis commands', registers }),
    fastPathAnswers: new Counter({
      name: 'cruddur_fast_path_responses_total',
      help: 'GET query requests answered without the tRPC adapter (cached JSON sent as stored), by where: front_door (before Fastify) or fastify',
      labelNames: ['via'],
      registers,
      collect() {
        for (const via of ['front_door', 'fastify'] as const) {
          // Both series exist from the first scrape on, so a rate over them never starts from nothing.
          this.inc({ via }, fastPathAnswers[via])
          fastPathAnswers[via] = 0
        }
      },
    }),
    rateLimited: new Counter({
      name: 'cruddur_rate_limited_total',
      help: 'Requests refused by a rate limit (address: per client address; read, write, subscription: per user)',
      labelNames: ['scope'],
      registers,
    }),
    redisUp: new Gauge({ name: 'cruddur_redis_up', help: '1 when the Redis cache is in use, 0 when degraded (reads go to DynamoDB)', registers }),
    realtime: {
      open: new Gauge({ name: 'cruddur_subscriptions_open', help: 'Open subscriptions on this instance', labelNames: ['kind'], registers }),
      delivered: new Counter({ name: 'cruddur_subscription_events_total', help: 'Events written to subscription streams', labelNames: ['kind'], registers }),
      catchUps: new Counter({
        name: 'cruddur_subscription_catchups_total',
        help: 'DynamoDB reads by subscriptions catching up (on resume, after a bus outage, at a gap, while the bus is down)',
        labelNames: ['kind'],
        registers,
      }),
      catchUpEvents: new Counter({
        name: 'cruddur_subscription_catchup_events_total',
        help: 'Events that subscriptions delivered from DynamoDB rather than from the bus',
        labelNames: ['kind'],
        registers,
      }),
      latency: new Histogram({
        name: 'cruddur_subscription_delivery_seconds',
        help: "From the create's acknowledged write to the event's write to a subscriber's stream",
        labelNames: ['kind'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
      gapsSkipped: new Counter({
        name: 'cruddur_subscription_gaps_skipped_total',
        help: 'Reserved places that never received a message, given up on after the write window',
        registers,
      }),
      ended: new Counter({
        name: 'cruddur_subscriptions_ended_total',
        help: 'Streams the server ended (overflow: slow reader; expired: token; shutdown)',
        labelNames: ['reason'],
        registers,
      }),
      refused: new Counter({
        name: 'cruddur_subscriptions_refused_total',
        help: 'Subscriptions refused for a limit (per user, per instance)',
        labelNames: ['reason'],
        registers,
      }),
      busUp: new Gauge({ name: 'cruddur_realtime_bus_up', help: '1 while the real-time bus delivers, 0 while subscriptions poll DynamoDB', registers }),
      busReconnects: new Counter({ name: 'cruddur_realtime_bus_reconnects_total', help: 'Times the real-time bus came back after being down', registers }),
      publishFailures: new Counter({ name: 'cruddur_realtime_publish_failures_total', help: 'Rings the bus could not send', registers }),
    },
  }
  function tallyOf(procedure: string, code: string | undefined): CallTally {
    let byCode = calls.get(procedure)
    if (!byCode) calls.set(procedure, (byCode = new Map<string | undefined, CallTally>()))
    let c = byCode.get(code)
    if (!c) byCode.set(code, (c = { labels: code === undefined ? undefined : { procedure, code }, pending: 0, time: metrics.duration.child({ procedure }) }))
    return c
  }
  return {
    ...metrics,
    observeCall(procedure, code, seconds) {
      const c = tallyOf(procedure, code)
      c.pending++
      c.time.observe(seconds)
    },
    callObserver(procedure, code) {
      const c = tallyOf(procedure, code)
      return (seconds) => {
        c.pending++
        c.time.observe(seconds)
      }
    },
    hitCounter(entity) {
      let h = hits.get(entity)
      if (!h) hits.set(entity, (h = { pending: 0 }))
      const counted = h
      return () => {
        counted.pending++
      }
    },
    countFastPathAnswer(via) {
      fastPathAnswers[via]++
    },
  }
}
