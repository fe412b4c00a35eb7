// What a scenario reports (the results file's shape): its rounds, cache counters, CPU, memory and
// read-your-writes checks.
import type { Percentiles, TimelinePoint } from './tally.js'

export interface Throughput {
  driver: 'wrk' | 'autocannon' | 'closed-loop'
  rps: number
  completed: number
  durationSec: number
  errors: number
  non2xx: number
  /** Closed-loop latencies at saturation: for reference only (they hide queueing). */
  saturatedLatency: Pick<Percentiles, 'p50' | 'p97_5' | 'p99'>
}

export interface FixedRate {
  driver: 'open-loop' | 'autocannon'
  targetRate: number
  rps: number
  completed: number
  errors: number
  non2xx: number
  latency: Percentiles
  /**
   * The machine did not keep up with the rate (answers under 97% of it, or requests left queued):
   * the latencies then measure a growing queue, not the server at this load.
   */
  overloaded: boolean
  /** open-loop only: latency without the client's own send delay, and that delay. */
  latencyFromSend?: Percentiles
  sendLag?: Percentiles
  /** open-loop only: latency by half second of the round, to tell a steady tail from a stall. */
  timeline?: TimelinePoint[]
}

export interface CacheCounters {
  hits: number
  misses: number
  /** Failed or timed-out Redis commands: while Redis is "degraded", reads skip the cache uncounted. */
  redisErrors: number
}

export interface ScenarioResult {
  id: string
  label: string
  /** What was measured, in a sentence. */
  description: string
  target: string
  throughput: Throughput
  fixedRate: FixedRate
  /** Errors and non-2xx answers over both measured rounds. */
  errors: number
  non2xx: number
  cache: CacheCounters | null
  /** hits / (hits + misses) over the measured rounds; null without a cache. */
  hitRatio: number | null
  memory: { rssMb: number; peakMb: number } | null
  /** GET scenarios: req/s at each connection count, and each interleaved slice's (for paired ratios). */
  byConnections?: { connections: number; rps: number; sliceRps: number[] }[]
  /** CPU microseconds per request in the throughput round: the server, dynalite, the bench client. */
  cpuUsPerRequest: CpuSplit
  /**
   * CPU microseconds per request in the fixed-rate round: what one request costs the server when it
   * is not saturated, the figure least moved by the load generator and the machine's other tenants.
   */
  cpuUsPerRequestAtRate?: CpuSplit
  /**
   * The cache hits' and the baseline's cost compared at one rate: CPU microseconds per request with
   * every one of them sent the same open-loop rate (half the slowest one's req/s). At each one's own
   * half-saturation rate the faster server batches more per wake-up, which flatters its cost.
   */
  cpuAtCommonRate?: { rate: number; perRequest: CpuSplit; completed: number; latency: FixedRate }
  /**
   * CPU cores busy during the throughput round. A server process near 1.0 is saturated (Node runs
   * JavaScript on one core); with the server below that, the client or the machine was the limit.
   */
  cpuCores: CpuSplit & {
    /** Every busy core of the machine: the above plus Redis, PostgreSQL and whatever else runs. */
    machine: number
  }
  /** Mixed load over several instances: each one's memory (`memory` is the first one's). */
  memoryByServer?: Record<string, { rssMb: number; peakMb: number } | null>
  /** Mixed load: read-your-writes checks. */
  consistency?: Consistency
  /** Log lines at warn or above the server wrote since it started, and the first few. */
  warnings: number
  warningLines: string[]
}

export interface CpuSplit {
  /** The server process(es) measured. */
  server: number
  dynalite: number
  /** The bench process (autocannon or the bench's own driver). */
  client: number
}

export interface CpuSummary {
  perRequest: CpuSplit
  cores: CpuSplit & { machine: number }
}

export interface Consistency {
  writes: number
  messageReads: number
  groupReads: number
  /** messages.list answers missing a message acknowledged before the read started. */
  staleMessageReads: number
  /** messageGroups.list answers showing a conversation older than a message acknowledged before. */
  staleGroupReads: number
  failedWrites: number
}
