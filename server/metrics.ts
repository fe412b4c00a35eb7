// Prometheus metrics (prom-client), one registry per app so several apps can share a process.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface Metrics {
  registry: Registry
  requests: Counter<'procedure' | 'code'>
  duration: Histogram<'procedure'>
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
}

export function createMetrics(): Metrics {
  const registry = new Registry()
  const registers = [registry]
  const children = new Map<string, { count: { inc(): void } | undefined; time: { observe(v: number): void } }>()
  const metrics: Omit<Metrics, 'observeCall'> = {
    registry,
    requests: new Counter({
      name: 'cruddur_trpc_requests_total',
      help: 'Procedure calls by procedure and result code (OK or the tRPC error code)',
      labelNames: ['procedure', 'code'],
      registers,
    }),
    duration: new Histogram({
      name: 'cruddur_trpc_request_duration_seconds',
      help: 'Procedure latency',
      labelNames: ['procedure'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    cacheHits: new Counter({ name: 'cruddur_cache_hits_total', help: 'Cache hits', labelNames: ['entity'], registers }),
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
      help: 'GET query requests answered without the tRPC adapter (cached JSON sent as stored)',
      registers,
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
  return {
    ...metrics,
    observeCall(procedure, code, seconds) {
      const id = `${procedure} ${code}`
      let child = children.get(id)
      if (!child) {
        child = { count: code === undefined ? undefined : metrics.requests.labels({ procedure, code }), time: metrics.duration.labels({ procedure }) }
        children.set(id, child)
      }
      child.count?.inc()
      child.time.observe(seconds)
    },
  }
}
