// The scenarios. Each runs a warm-up, a throughput round at maximum rate (autocannon, no pipelining,
// or the bench's own closed loop for the mixed load), then a latency round at a fixed rate of half
// the measured throughput (the bench's open loop: latencies count from each request's scheduled
// start). The read-only scenarios (a, b, d) run their rounds interleaved in slices. Around the
// measured rounds: cache counters from /metrics, CPU of the processes and the machine, memory.
import { cpus } from 'node:os'
import autocannon from 'autocannon'
import type { BenchUser, Conversation } from './fixtures.js'
import { trpcData } from './fixtures.js'
import { median } from './report.js'
import { closedLoop, type HttpDriver, type Op, openLoop, type Pacing, type Percentiles, RoundTally, type RoundResult, type TimelinePoint } from './load.js'
import { type Child, cpuSecondsOf, machineCpuSeconds, memoryOf } from './servers.js'
import { type RoundCounts, wrkRound } from './wrk.js'
import type { ShieldMode } from './shield.js'

export interface BenchOptions {
  /** Seconds of each measured round (throughput, fixed rate) of each scenario. */
  durationSec: number
  /** The GET scenarios' rounds run interleaved, in this many slices each. */
  slices: number
  warmupSec: number
  /** Connections of the fixed-rate rounds, the mixed load and the headline req/s. */
  connections: number
  /** The GET scenarios' throughput rounds run at each of these connection counts (interleaved). */
  connectionCounts: number[]
  scenarios: string[]
  users: number
  conversations: number
  messagesEach: number
  /** Fraction of the measured throughput the latency round asks for. */
  latencyLoad: number
  latencyDriver: 'open-loop' | 'autocannon'
  /** How the open loop wakes to send (load.ts). */
  pacing: Pacing
  /** The throughput rounds' load generator (wrk when installed: it leaves the server the bottleneck). */
  throughputDriver: 'wrk' | 'autocannon'
  /** Extra mixed run over two cache-on instances sharing Redis. */
  multiInstance: boolean
  /** The bench and Redis ahead of the machine's other tenants, and those off the server's core (./shield.ts). */
  shield: ShieldMode
  /** Scenario (e): messages per second through instance A. */
  realtimeRate: number
  /** Only these GET scenarios (ids such as a-messages), for a profile of one of them; all when undefined. */
  only?: string[] | undefined
}

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

/** CPU used by the server(s), dynalite, this process and the whole machine, over start/stop windows. */
class CpuMeter {
  private used = { server: 0, dynalite: 0, client: 0, machineBusy: 0, machineTotal: 0, wall: 0 }
  private at: ReturnType<CpuMeter['read']> | undefined

  constructor(
    private readonly serverPids: number[],
    private readonly dynalitePid: number,
  ) {}

  private read() {
    const m = machineCpuSeconds()
    const c = process.cpuUsage()
    return {
      server: this.serverPids.reduce((a, p) => a + cpuSecondsOf(p), 0),
      dynalite: cpuSecondsOf(this.dynalitePid),
      client: (c.user + c.system) / 1e6,
      machineBusy: m.busy,
      machineTotal: m.total,
      wall: performance.now() / 1000,
    }
  }

  start(): void {
    this.at = this.read()
  }

  stop(): void {
    if (!this.at) return
    const now = this.read()
    for (const k of Object.keys(this.used) as (keyof CpuMeter['used'])[]) this.used[k] += now[k] - this.at[k]
    this.at = undefined
  }

  summary(completed: number): CpuSummary {
    const u = this.used
    const n = Math.max(1, completed)
    const wall = u.wall || 1
    return {
      perRequest: { server: (u.server * 1e6) / n, dynalite: (u.dynalite * 1e6) / n, client: (u.client * 1e6) / n },
      cores: {
        server: u.server / wall,
        dynalite: u.dynalite / wall,
        client: u.client / wall,
        machine: u.machineTotal > 0 ? (u.machineBusy / u.machineTotal) * cpus().length : NaN,
      },
    }
  }
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

export interface Env {
  options: BenchOptions
  /** The servers' METRICS_TOKEN: /metrics answers only with it. */
  metricsToken: string
  driver: HttpDriver
  users: BenchUser[]
  conversations: Conversation[]
  dynalite: Child
  A: Child
  A2?: Child
  B: Child
  D?: Child
  signal: AbortSignal
  log: (line: string) => void
  /** The floor (bench/nginx-floor.ts), when nginx is installed: sent the common rate beside the hits and the baseline. */
  floor?: { url: string; path: string }
  /** Stores scenario (d)'s bodies under the baseline server's keys, by user index. */
  prepareBaseline: (bodies: string[]) => Promise<void>
  /** Every (a) request has been read once since the fixtures were written. */
  cacheWarm: boolean
}

/** messageGroups.list exactly as @trpc/client's httpBatchLink sends it (input omitted). */
export const GROUPS_PATH = '/trpc/messageGroups.list?batch=1&input=' + encodeURIComponent(JSON.stringify({ 0: {} }))
export const messagesPath = (groupUuid: string, limit?: number) =>
  '/trpc/messages.list?input=' + encodeURIComponent(JSON.stringify(limit ? { messageGroupUuid: groupUuid, limit } : { messageGroupUuid: groupUuid }))

interface Req {
  method: 'GET'
  path: string
  headers: Record<string, string>
}

/** One request per user: their conversation list. */
export const groupsRequests = (users: BenchUser[]): Req[] =>
  users.map((u) => ({ method: 'GET', path: GROUPS_PATH, headers: { authorization: u.authorization } }))

/** One request per user: their conversation list as a plain (unbatched) call. */
export const groupsPlainRequests = (users: BenchUser[]): Req[] =>
  users.map((u) => ({ method: 'GET', path: '/trpc/messageGroups.list', headers: { authorization: u.authorization } }))

/** One request per (participant, conversation): the conversation's first page. */
export const messagesRequests = (users: BenchUser[]): Req[] =>
  users.flatMap((u) => u.groups.map((g) => ({ method: 'GET' as const, path: messagesPath(g), headers: { authorization: u.authorization } })))

/** Sum of the cache counters a server exposes. */
export async function scrapeCache(driver: HttpDriver, url: string, metricsToken: string): Promise<CacheCounters> {
  const res = await driver.send({ method: 'GET', url, path: '/metrics', headers: { authorization: `Bearer ${metricsToken}` } })
  if (res.status !== 200) throw new Error(`GET ${url}/metrics: HTTP ${res.status}`)
  const sum = (name: string) =>
    res.body
      .split('\n')
      .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
      .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  return { hits: sum('cruddur_cache_hits_total'), misses: sum('cruddur_cache_misses_total'), redisErrors: sum('cruddur_redis_errors_total') }
}

const diff = (a: CacheCounters, b: CacheCounters): CacheCounters => ({
  hits: b.hits - a.hits,
  misses: b.misses - a.misses,
  redisErrors: b.redisErrors - a.redisErrors,
})
const add = (x: CacheCounters, y: CacheCounters): CacheCounters => ({
  hits: x.hits + y.hits,
  misses: x.misses + y.misses,
  redisErrors: x.redisErrors + y.redisErrors,
})
const ratio = (c: CacheCounters | null) => (c && c.hits + c.misses > 0 ? c.hits / (c.hits + c.misses) : null)

let current: autocannon.Instance | undefined
/** Stops a running autocannon round (SIGINT). */
export const stopCurrent = () => current?.stop()

async function cannon(url: string, requests: Req[], connections: number, durationSec: number, overallRate?: number): Promise<autocannon.Result> {
  let k = 0
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    duration: durationSec,
    timeout: 10,
    requests: requests.slice(0, 1),
    // The connections share the list: connection i walks requests i, i + N, i + 2N... (N connections),
    // so every request is sent and autocannon builds each once per round. When every connection walked
    // the whole list, 50 connections x 800 messages.list requests were 40,000 request buffers built
    // inside the timed round: a short round lost a good part of its time to the load generator.
    setupClient: (client) => {
      const i = k++ % connections
      const mine = requests.length <= connections ? [requests[i % requests.length]!] : requests.filter((_, j) => j % connections === i)
      client.setRequests(mine.map((r) => ({ ...r, headers: { ...r.headers } })))
    },
    ...(overallRate ? { overallRate } : {}),
  })
  current = instance
  try {
    return await instance
  } finally {
    current = undefined
  }
}

/** A throughput round (closed loop, no pipelining) with the run's load generator. */
const saturate = (options: BenchOptions, url: string, requests: Req[], connections: number, durationSec: number): Promise<RoundCounts> =>
  options.throughputDriver === 'wrk' ? wrkRound(url, requests, connections, durationSec) : cannon(url, requests, connections, durationSec)

/** Cycles through a list, from a random start. */
function cycler<T>(items: T[]): () => T {
  let i = Math.floor(Math.random() * items.length)
  return () => items[i++ % items.length]!
}

interface Measure {
  throughput: Throughput
  fixedRate: FixedRate
  cache: CacheCounters | null
  cpu: CpuSummary
  warnings: number
  warningLines: string[]
}

function fromOpenLoop(r: RoundResult): FixedRate {
  return {
    driver: 'open-loop',
    targetRate: r.targetRate ?? 0,
    // Sent on schedule, so answers arriving well below the rate mean a queue built up.
    overloaded: r.rps < 0.97 * (r.targetRate ?? 0) || r.dropped > 0,
    rps: r.rps,
    completed: r.completed,
    errors: r.errors,
    non2xx: r.non2xx,
    latency: r.latency,
    ...(r.latencyFromSend ? { latencyFromSend: r.latencyFromSend } : {}),
    ...(r.sendLag ? { sendLag: r.sendLag } : {}),
    ...(r.timeline ? { timeline: r.timeline } : {}),
  }
}

function result(id: string, label: string, description: string, target: Child, m: Measure, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    id,
    label,
    description,
    target: target.name,
    throughput: m.throughput,
    fixedRate: m.fixedRate,
    errors: m.throughput.errors + m.fixedRate.errors,
    non2xx: m.throughput.non2xx + m.fixedRate.non2xx,
    cache: m.cache,
    hitRatio: ratio(m.cache),
    memory: memoryOf(target.pid),
    cpuUsPerRequest: m.cpu.perRequest,
    cpuCores: m.cpu.cores,
    warnings: m.warnings,
    warningLines: m.warningLines,
    ...extra,
  }
}

/** Reads every request once (a few at a time), so that the cache holds them all. */
async function warmCache(env: Env, url: string, requests: Req[]): Promise<void> {
  let i = 0
  const worker = async () => {
    while (i < requests.length) {
      const r = requests[i++]!
      const res = await env.driver.send({ ...r, url })
      if (res.status !== 200) throw new Error(`warming ${r.path}: HTTP ${res.status} ${res.body.slice(0, 200)}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
}

/** The GET scenarios, each one list of requests against one server. */
export type GetScenario = 'a-groups' | 'a-groups-plain' | 'a-messages' | 'b-groups' | 'b-messages' | 'd-baseline'

interface GetSpec {
  id: GetScenario
  label: string
  description: string
  target: Child
  requests: Req[]
  cached: boolean
}

async function specFor(env: Env, id: GetScenario): Promise<GetSpec> {
  const groups = groupsRequests(env.users)
  const messages = messagesRequests(env.users)
  switch (id) {
    case 'a-groups':
      return {
        id,
        target: env.A,
        requests: groups,
        cached: true,
        label: '(a) messageGroups.list, cache hits, server A',
        description: `GET messageGroups.list (batch=1, input {}, as @trpc/client sends it) rotating over ${groups.length} users' tokens, cache warm`,
      }
    case 'a-groups-plain':
      return {
        id,
        target: env.A,
        requests: groupsPlainRequests(env.users),
        cached: true,
        label: '(a) messageGroups.list plain, cache hits, server A',
        description: `GET /trpc/messageGroups.list (no batch, no input) rotating over ${groups.length} users' tokens, cache warm`,
      }
    case 'a-messages':
      return {
        id,
        target: env.A,
        requests: messages,
        cached: true,
        label: '(a) messages.list, cache hits, server A',
        description: `GET messages.list (plain, first page, default limit) rotating over ${messages.length} (participant, conversation) pairs, cache warm`,
      }
    case 'b-groups':
      return {
        id,
        target: env.B,
        requests: groups,
        cached: false,
        label: '(b) messageGroups.list, CACHE_MODE=off, server B',
        description: "a-groups' requests against server B (CACHE_MODE=off): PostgreSQL and DynamoDB on every read",
      }
    case 'b-messages':
      return {
        id,
        target: env.B,
        requests: messages,
        cached: false,
        label: '(b) messages.list, CACHE_MODE=off, server B',
        description: "a-messages' requests against server B (CACHE_MODE=off)",
      }
    case 'd-baseline': {
      if (!env.D) throw new Error('baseline server not started')
      // The exact bytes server A answers each user's conversation list with.
      const bodies = await Promise.all(groups.map((r) => env.driver.send({ ...r, url: env.A.url }).then((res) => res.body)))
      await env.prepareBaseline(bodies)
      return {
        id,
        target: env.D,
        requests: env.users.map((u, i) => ({ method: 'GET' as const, path: `/baseline/${i}`, headers: { authorization: u.authorization } })),
        cached: false,
        label: '(d) baseline: bare Fastify + one Redis GET of the same bytes',
        description:
          "A bare Fastify route doing one ioredis GET of a key holding a-groups' response bytes for the same user, sent as application/json",
      }
    }
  }
}

/**
 * Unmeasured seconds at a fixed-rate slice's rate before it, which also take the load generator's
 * collection (`openLoop`'s `collect`): measured right after it, the nginx floor's first half second of
 * each slice had a p99 of mostly 9–20 ms against 2–4 in its second (eighth round of docs/benchmark.md).
 * The servers, idle through the others' turns, start measured slices warm too.
 */
const SLICE_WARMUP_SEC = 0.5

/** What one scenario's slices add up to. */
class Slices {
  readonly cpu: CpuMeter
  /** CPU over the fixed-rate rounds. */
  readonly cpuAtRate: CpuMeter
  /** CPU over the common-rate rounds (cache hits and baseline only). */
  readonly cpuAtCommon: CpuMeter
  readonly common = new RoundTally()
  /** Throughput rounds by connection count: completed requests, seconds, and each slice's req/s. */
  readonly byConnections = new Map<number, { completed: number; durationSec: number; sliceRps: number[] }>()
  cache: CacheCounters | null
  warnings = 0
  warningLines: string[] = []
  tp = { completed: 0, durationSec: 0, errors: 0, non2xx: 0, saturated: [] as Throughput['saturatedLatency'][] }
  readonly fixed = new RoundTally()
  fixedRate: FixedRate | undefined
  rate = 0

  constructor(
    readonly spec: GetSpec,
    env: Env,
  ) {
    this.cpu = new CpuMeter([spec.target.pid], env.dynalite.pid)
    this.cpuAtRate = new CpuMeter([spec.target.pid], env.dynalite.pid)
    this.cpuAtCommon = new CpuMeter([spec.target.pid], env.dynalite.pid)
    this.cache = spec.cached ? { hits: 0, misses: 0, redisErrors: 0 } : null
  }

  /** Runs one slice, counting the server's cache counters and warnings around it. */
  async slice<T>(env: Env, run: () => Promise<T>): Promise<T> {
    const { target, cached } = this.spec
    const w0 = target.warnings()
    const before = cached ? await scrapeCache(env.driver, target.url, env.metricsToken) : undefined
    const out = await run()
    if (before && this.cache) this.cache = add(this.cache, diff(before, await scrapeCache(env.driver, target.url, env.metricsToken)))
    const w1 = target.warnings()
    this.warnings += w1 - w0
    this.warningLines.push(...target.warningLines().slice(w0, w1).slice(0, 5 - this.warningLines.length))
    return out
  }

  get rps(): number {
    return this.tp.durationSec > 0 ? this.tp.completed / this.tp.durationSec : 0
  }
}


/**
 * The GET scenarios, measured together: each warms up, then their throughput rounds run in
 * interleaved slices (a-groups, d, a-messages, b-groups, b-messages, then again), and so do their
 * fixed-rate rounds. What the shared machine does meanwhile then falls on all of them alike, and
 * their ratios hold better than those of rounds run one after the other.
 */
export async function runGetScenarios(env: Env, ids: GetScenario[]): Promise<{ scenarios: ScenarioResult[]; floor?: FixedRate }> {
  const { options } = env
  const specs: GetSpec[] = []
  for (const id of ids) specs.push(await specFor(env, id))
  if (specs.some((s) => s.cached) && !env.cacheWarm) {
    await warmCache(env, env.A.url, [...groupsRequests(env.users), ...groupsPlainRequests(env.users), ...messagesRequests(env.users)])
    env.cacheWarm = true
  }
  const all = specs.map((spec) => new Slices(spec, env))
  const sliceSec = sliceSeconds(options)
  const names = specs.map((s) => s.id).join(', ')

  env.log(`warm-up ${options.warmupSec}s each: ${names}`)
  for (const s of all) await s.slice(env, () => saturate(options, s.spec.target.url, s.spec.requests, options.connections, options.warmupSec))
  for (const s of all) s.warnings = 0 // count from the measured rounds on
  for (const s of all) s.warningLines = []
  for (const s of all) if (s.cache) s.cache = { hits: 0, misses: 0, redisErrors: 0 }

  let commonRate = 0
  let floor: FixedRate | undefined
  const counts = [...new Set([...options.connectionCounts, options.connections])].sort((a, b) => a - b)
  env.log(`throughput: ${options.slices} × ${sliceSec}s each, interleaved, at ${counts.join(' and ')} connections`)
  for (let i = 0; i < options.slices && !env.signal.aborted; i++) {
    for (const connections of counts) {
      for (const s of all) {
        const headline = connections === options.connections
        const r = await s.slice(env, async () => {
          if (headline) s.cpu.start()
          const r = await saturate(options, s.spec.target.url, s.spec.requests, connections, sliceSec)
          if (headline) s.cpu.stop()
          return r
        })
        const by = s.byConnections.get(connections) ?? { completed: 0, durationSec: 0, sliceRps: [] }
        by.completed += r.requests.total
        by.durationSec += r.duration
        by.sliceRps.push(r.requests.total / r.duration)
        s.byConnections.set(connections, by)
        s.tp.errors += r.errors
        s.tp.non2xx += r.non2xx
        if (!headline) continue
        s.tp.completed += r.requests.total
        s.tp.durationSec += r.duration
        s.tp.saturated.push({ p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99 })
      }
    }
  }
  for (const s of all) s.rate = Math.max(1, Math.round(s.rps * options.latencyLoad))
  env.log(`fixed rate (${options.latencyDriver}): ${all.map((s) => `${s.spec.id} ${s.rate}/s`).join(', ')}`)

  if (options.latencyDriver === 'autocannon') {
    // autocannon's histograms cannot be merged here: one round each, the whole duration.
    for (const s of all) {
      const r = await s.slice(env, () => cannon(s.spec.target.url, s.spec.requests, options.connections, sliceSec * options.slices, s.rate))
      s.fixedRate = {
        driver: 'autocannon',
        targetRate: s.rate,
        overloaded: r.requests.total / r.duration < 0.97 * s.rate,
        rps: r.requests.total / r.duration,
        completed: r.requests.total,
        errors: r.errors,
        non2xx: r.non2xx,
        latency: { p50: r.latency.p50, p90: r.latency.p90, p97_5: r.latency.p97_5, p99: r.latency.p99, p99_9: r.latency.p99_9, max: r.latency.max, mean: r.latency.mean },
      }
    }
  } else {
    // Open every connection first, so that no round pays for connecting.
    for (const s of all) {
      const url = s.spec.target.url
      await Promise.all(Array.from({ length: options.connections }, () => env.driver.send({ method: 'GET', url, path: '/health', headers: {} })))
    }
    // Each scenario's requests made once: the load generator encodes each once too (load.ts).
    const ops = new Map(all.map((s) => [s, s.spec.requests.map((r): Op => ({ ...r, url: s.spec.target.url }))]))
    // A warm-up at each one's fixed rate, not measured, as the throughput rounds have theirs: the
    // rounds measure a steady load, not the change from saturation to half of it (the collections of
    // what the throughput rounds left behind, in the servers and in this process).
    for (const s of all) await openLoop(env.driver, { rate: s.rate, durationSec: options.warmupSec, pacing: options.pacing, signal: env.signal, next: cycler(ops.get(s)!) })
    /** Open-loop rounds in interleaved slices, each scenario at its rate, into its tally and CPU meter. */
    const openLoopSlices = async (scenarios: Slices[], round: (s: Slices) => { rate: number; tally: RoundTally; cpu: CpuMeter }, after?: () => Promise<unknown>) => {
      for (let i = 0; i < options.slices && !env.signal.aborted; i++) {
        for (const s of scenarios) {
          const next = cycler(ops.get(s)!)
          const { rate, tally, cpu } = round(s)
          // Each slice measures a server that was idle while the others had their turns, from a load
          // generator that has just collected its garbage: the first moments at the rate go unmeasured.
          await openLoop(env.driver, { rate, durationSec: SLICE_WARMUP_SEC, pacing: options.pacing, signal: env.signal, next })
          await s.slice(env, async () => {
            cpu.start()
            const r = await openLoop(env.driver, { rate, durationSec: sliceSec, pacing: options.pacing, signal: env.signal, tally, next, collect: false })
            cpu.stop()
            return r
          })
        }
        await after?.()
      }
    }
    await openLoopSlices(all, (s) => ({ rate: s.rate, tally: s.fixed, cpu: s.cpuAtRate }))
    for (const s of all) s.fixedRate = fromOpenLoop(s.fixed.result(s.rate))

    // The cost comparison: the cache hits and the baseline at one rate, interleaved likewise.
    const compared = all.filter((s) => s.spec.cached || s.spec.id === 'd-baseline')
    if (compared.length > 1) {
      commonRate = Math.max(1, Math.round(Math.min(...compared.map((s) => s.rps)) * options.latencyLoad))
      // The floor takes its turn in each slice too: what the machine and this load generator add to
      // any server's tail at this rate, at the same moments.
      const floorOp: Op | undefined = env.floor && { method: 'GET', url: env.floor.url, path: env.floor.path, headers: {} }
      const floorTally = new RoundTally()
      if (floorOp) {
        await Promise.all(Array.from({ length: options.connections }, () => env.driver.send(floorOp)))
        await openLoop(env.driver, { rate: commonRate, durationSec: options.warmupSec, pacing: options.pacing, signal: env.signal, next: () => floorOp })
      }
      env.log(`common rate (open-loop): ${compared.map((s) => s.spec.id).join(', ')}${floorOp ? ' and the nginx floor' : ''} at ${commonRate}/s`)
      await openLoopSlices(
        compared,
        (s) => ({ rate: commonRate, tally: s.common, cpu: s.cpuAtCommon }),
        floorOp &&
          (async () => {
            await openLoop(env.driver, { rate: commonRate, durationSec: SLICE_WARMUP_SEC, pacing: options.pacing, signal: env.signal, next: () => floorOp })
            await openLoop(env.driver, { rate: commonRate, durationSec: sliceSec, pacing: options.pacing, signal: env.signal, tally: floorTally, next: () => floorOp, collect: false })
          }),
      )
      if (floorOp && floorTally.completed > 0) floor = fromOpenLoop(floorTally.result(commonRate))
    }
  }

  const scenarios = all.map((s) => {
    const throughput: Throughput = {
      driver: options.throughputDriver,
      rps: s.rps,
      completed: s.tp.completed,
      durationSec: s.tp.durationSec,
      errors: s.tp.errors,
      non2xx: s.tp.non2xx,
      saturatedLatency: {
        p50: median(s.tp.saturated.map((x) => x.p50)),
        p97_5: median(s.tp.saturated.map((x) => x.p97_5)),
        p99: median(s.tp.saturated.map((x) => x.p99)),
      },
    }
    return result(s.spec.id, s.spec.label, s.spec.description, s.spec.target, {
      throughput,
      fixedRate: s.fixedRate!,
      cache: s.cache,
      cpu: s.cpu.summary(s.tp.completed),
      warnings: s.warnings,
      warningLines: s.warningLines,
    }, {
      byConnections: [...s.byConnections].map(([connections, by]) => ({ connections, rps: by.completed / (by.durationSec || 1), sliceRps: by.sliceRps })),
      ...(s.fixedRate!.driver === 'open-loop' ? { cpuUsPerRequestAtRate: s.cpuAtRate.summary(s.fixedRate!.completed).perRequest } : {}),
      ...(commonRate > 0 && s.common.completed > 0
        ? {
            cpuAtCommonRate: {
              rate: commonRate,
              perRequest: s.cpuAtCommon.summary(s.common.completed).perRequest,
              completed: s.common.completed,
              latency: fromOpenLoop(s.common.result(commonRate)),
            },
          }
        : {}),
    })
  })
  return { scenarios, ...(floor ? { floor } : {}) }
}

/** autocannon ends rounds on its one-second ticks: slices last whole seconds. */
export const sliceSeconds = (o: BenchOptions) => Math.max(1, Math.round(o.durationSec / o.slices))

// ---- (c) mixed load with read-your-writes checks --------------------------------------------------

interface Ack {
  uuid: string
  createdAt: string
}

interface MessagePage {
  items: { uuid: string; createdAt: string }[]
}

interface GroupsPage {
  items: { uuid: string; createdAt: string }[]
}

/** 95% reads (3/4 messages.list limit 100, 1/4 messageGroups.list), 5% writes, over `servers`. */
export function mixedLoad(env: Pick<Env, 'users' | 'conversations'>, servers: string[]) {
  const acked = new Map<string, Ack[]>()
  const stats: Consistency = { writes: 0, messageReads: 0, groupReads: 0, staleMessageReads: 0, staleGroupReads: 0, failedWrites: 0 }
  let seq = 0
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!

  const next = (): Op => {
    const url = pick(servers)
    const conv = pick(env.conversations)
    const user = env.users[Math.random() < 0.5 ? conv.a : conv.b]!
    const headers = { authorization: user.authorization }
    const r = Math.random()
    if (r < 0.05) {
      const text = `mixed load ${++seq}`
      return {
        method: 'POST',
        url,
        path: '/trpc/messages.create',
        headers,
        body: JSON.stringify({ message: text, messageGroupUuid: conv.uuid }),
        check(status, body) {
          try {
            const data = trpcData(status, body) as { message: Ack }
            stats.writes++
            const list = acked.get(conv.uuid) ?? []
            list.push({ uuid: data.message.uuid, createdAt: data.message.createdAt })
            acked.set(conv.uuid, list)
            return true
          } catch {
            stats.failedWrites++
            return false
          }
        },
      }
    }
    if (r < 0.05 + 0.95 * 0.75) {
      // What was acknowledged before this read starts.
      const expected = (acked.get(conv.uuid) ?? []).slice()
      return {
        method: 'GET',
        url,
        path: messagesPath(conv.uuid, 100),
        headers,
        check(status, body) {
          stats.messageReads++
          const page = trpcData(status, body) as MessagePage
          const have = new Set(page.items.map((m) => m.uuid))
          const oldest = page.items[0]?.createdAt
          // A full page may have pushed an acknowledged message to the next page: only then may it be absent.
          const ok = expected.every((a) => have.has(a.uuid) || (page.items.length === 100 && oldest !== undefined && a.createdAt < oldest))
          if (!ok) stats.staleMessageReads++
          return ok
        },
      }
    }
    const latest = new Map<string, string>()
    for (const g of user.groups) {
      const list = acked.get(g)
      if (list?.length) latest.set(g, list.reduce((m, a) => (a.createdAt > m ? a.createdAt : m), ''))
    }
    return {
      method: 'GET',
      url,
      path: GROUPS_PATH,
      headers,
      check(status, body) {
        stats.groupReads++
        const [first] = JSON.parse(body) as { result?: { data: GroupsPage } }[]
        const items = first?.result?.data.items ?? []
        const shown = new Map(items.map((g) => [g.uuid, g.createdAt]))
        const ok = [...latest].every(([g, at]) => (shown.get(g) ?? '') >= at)
        if (!ok) stats.staleGroupReads++
        return ok
      },
    }
  }
  return { next, stats }
}

export async function scenarioC(env: Env, servers: Child[], id: string, label: string): Promise<ScenarioResult> {
  const { options } = env
  const urls = servers.map((s) => s.url)
  const { next, stats } = mixedLoad(env, urls)
  env.log(`(c) ${label}: warm-up ${options.warmupSec}s`)
  await closedLoop(env.driver, { durationSec: options.warmupSec, concurrency: options.connections, next, signal: env.signal })
  const w0 = servers.map((s) => s.warnings())
  const before = await Promise.all(urls.map((u) => scrapeCache(env.driver, u, env.metricsToken)))

  env.log(`  throughput ${options.durationSec}s, ${options.connections} concurrent`)
  const pids = servers.map((s) => s.pid)
  const meter = new CpuMeter(pids, env.dynalite.pid)
  meter.start()
  const t = await closedLoop(env.driver, { durationSec: options.durationSec, concurrency: options.connections, next, signal: env.signal })
  meter.stop()
  const cpu = meter.summary(t.completed)
  const rate = Math.max(1, Math.round(t.rps * options.latencyLoad))
  env.log(`  fixed rate ${rate}/s for ${options.durationSec}s (open loop)`)
  // Closed-loop workers kept every connection open: the open loop starts on them.
  const f = await openLoop(env.driver, { rate, durationSec: options.durationSec, pacing: options.pacing, next, signal: env.signal })
  const after = await Promise.all(urls.map((u) => scrapeCache(env.driver, u, env.metricsToken)))
  const cache = before.map((b, i) => diff(b, after[i]!)).reduce(add)

  const m: Measure = {
    throughput: {
      driver: 'closed-loop',
      rps: t.rps,
      completed: t.completed,
      durationSec: t.durationSec,
      errors: t.errors,
      non2xx: t.non2xx,
      saturatedLatency: { p50: t.latency.p50, p97_5: t.latency.p97_5, p99: t.latency.p99 },
    },
    fixedRate: fromOpenLoop(f),
    cache,
    cpu,
    warnings: servers.reduce((a, s, i) => a + s.warnings() - w0[i]!, 0),
    warningLines: servers.flatMap((s, i) => s.warningLines().slice(w0[i], w0[i]! + 5)),
  }
  const memoryByServer = Object.fromEntries(servers.map((s) => [s.name, memoryOf(s.pid)]))
  return result(
    id,
    label,
    `Mixed load over ${servers.map((s) => s.name).join(' and ')}${servers.length > 1 ? ' (sharing Redis, requests spread at random)' : ''}: ` +
      '95% reads (3/4 messages.list limit 100, 1/4 messageGroups.list), 5% messages.create, checking read-your-writes (warm-up included)',
    servers[0]!,
    m,
    {
      consistency: { ...stats },
      ...(servers.length > 1 ? { memoryByServer } : {}),
      target: servers.map((s) => s.name).join(' + '),
    },
  )
}
