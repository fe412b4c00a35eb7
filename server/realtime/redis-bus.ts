// The bus over Redis sharded pub/sub (SPUBLISH/SSUBSCRIBE): on a cluster a channel is served by the
// node of its slot, not broadcast to every node; on one node it behaves as plain pub/sub.
//
// A subscriber connection can be alive and still deaf (Redis paused, or restarted behind a proxy), so
// a heartbeat checks it: a missed beat marks the bus down; the next good beat subscribes every channel
// again and marks it up, which tells every subscription to read what it missed from DynamoDB.
import type { FastifyBaseLogger } from 'fastify'
import { Cluster, Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { Metrics } from '../metrics.js'
import { type Bus, type BusStatus, listenerRegistry } from './bus.js'

export interface RedisBusOptions {
  redis: Extract<Config['redis'], { kind: 'single' | 'cluster' }>
  commandTimeoutMs: number
  /** How often the subscriber connection is checked. */
  heartbeatMs?: number
  log: Pick<FastifyBaseLogger, 'warn' | 'info'>
  metrics: Metrics
}

const backoff = (times: number) => Math.min(times * 100, 2000)

const HEARTBEAT_MS = 1000

function connections(options: RedisBusOptions): { publisher: Redis | Cluster; subscriber: Redis | Cluster } {
  const common = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: options.commandTimeoutMs, connectTimeout: 2000 }
  // The subscriber's commands (PING, SSUBSCRIBE) wait up to a beat: a timeout marks the whole bus down,
  // and every subscription then reads DynamoDB again. With the request timeout (100 ms) an instance
  // busy starting 2,000 resumed streams at once timed its own SSUBSCRIBEs out (their answers came,
  // but after its timers ran) and doubled its DynamoDB reads (the bench's mass reconnect).
  const listening = { ...common, commandTimeout: Math.max(options.commandTimeoutMs, options.heartbeatMs ?? HEARTBEAT_MS) }
  if (options.redis.kind === 'single') {
    return {
      publisher: new Redis(options.redis.url, { ...common, retryStrategy: backoff }),
      // Channels are subscribed again by the heartbeat after a reconnect, once it knows Redis hears.
      subscriber: new Redis(options.redis.url, { ...listening, retryStrategy: backoff, autoResubscribe: false }),
    }
  }
  const cluster = (sharded: boolean) =>
    new Cluster(options.redis.kind === 'cluster' ? options.redis.nodes : [], {
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      slotsRefreshTimeout: 2000,
      shardedSubscribers: sharded,
      redisOptions: sharded ? listening : common,
    })
  return { publisher: cluster(false), subscriber: cluster(true) }
}

export function createRedisBus(options: RedisBusOptions): Bus {
  const { log, metrics } = options
  const { publisher, subscriber } = connections(options)
  let status: BusStatus = 'down'
  let closed = false
  /** Read after awaits, when close() may have run meanwhile. */
  const isClosed = () => closed
  const statusListeners = new Set<(s: BusStatus) => void>()

  /** A beat is running (it may be bringing the bus up, with the channels it listed when it began). */
  let beating = false
  const registry = listenerRegistry({
    async first(channel) {
      // Down: the next beat lists it and subscribes it. While a beat runs it may have listed the
      // channels already (and mark the bus up without this one): subscribed here then.
      if (status !== 'up' && !beating) return
      try {
        await subscriber.ssubscribe(channel)
      } catch {
        markDown('subscribe failed')
      }
    },
    last(channel) {
      subscriber.sunsubscribe(channel).catch(() => {})
    },
  })

  subscriber.on('smessage', (channel: string, payload: string) => { registry.deliver(channel, payload) })
  for (const c of [publisher, subscriber]) c.on('error', () => {}) // state comes from 'close' and the heartbeat
  subscriber.on('close', () => { markDown('connection closed') })

  function setStatus(next: BusStatus) {
    if (status === next) return
    status = next
    metrics.realtime.busUp.set(next === 'up' ? 1 : 0)
    if (next === 'up') metrics.realtime.busReconnects.inc()
    for (const l of statusListeners) l(next)
  }

  function markDown(reason: string) {
    if (isClosed() || status === 'down') return
    log.warn({ reason }, 'real-time bus down: subscriptions read DynamoDB at intervals until it is back')
    setStatus('down')
  }

  /** A beat: Redis answers on the subscriber connection; after a down, every channel is subscribed again. */
  async function beat() {
    if (beating || isClosed()) return
    beating = true
    try {
      await subscriber.ping()
      if (status === 'down') {
        const channels = registry.channels()
        // One by one: on a cluster, channels of different slots cannot share a command.
        await Promise.all(channels.map((c) => subscriber.ssubscribe(c)))
        if (isClosed()) return
        log.info({ channels: channels.length }, 'real-time bus up')
        setStatus('up')
      }
    } catch (err) {
      markDown((err as Error).message)
    } finally {
      beating = false
    }
  }
  const heartbeat = setInterval(() => void beat(), options.heartbeatMs ?? HEARTBEAT_MS)
  heartbeat.unref()
  subscriber.on('ready', () => void beat())
  metrics.realtime.busUp.set(0)

  return {
    kind: 'redis',
    async publish(channel, payload) {
      try {
        await publisher.spublish(channel, payload)
      } catch {
        // The ring is lost; subscribers elsewhere notice a gap or the bus's own outage and read DynamoDB.
        metrics.realtime.publishFailures.inc()
      }
    },
    subscribe: (channel, listener) => registry.add(channel, listener),
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener)
      return () => statusListeners.delete(listener)
    },
    up(ms) {
      if (status === 'up') return Promise.resolve()
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms)
        function done() {
          clearTimeout(timer)
          statusListeners.delete(done)
          resolve()
        }
        statusListeners.add(done)
      })
    },
    async close() {
      closed = true
      clearInterval(heartbeat)
      await Promise.all([publisher, subscriber].map((c) => c.quit().catch(() => { c.disconnect() })))
    },
  }
}
