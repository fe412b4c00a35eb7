// The GET scenarios (a, b, d) and what every scenario runs with. Each runs a warm-up, a throughput
// round at maximum rate (wrk or autocannon, no pipelining), then a latency round at a fixed rate of
// half the measured throughput (the bench's open loop: latencies count from each request's scheduled
// start), their rounds interleaved in slices. Around the measured rounds: cache counters from
// /metrics, CPU of the processes and the machine, memory (measure.ts). Scenario (c) is in mixed.ts.
import autocannon from 'autocannon'
import type { BenchUser, Conversation } from './fixtures.js'
import type { HttpDriver, Op } from './http-driver.js'
import { openLoop, SLICE_WARMUP_SEC } from './load.js'
import { cacheDelta, cacheSum, CpuMeter, fromOpenLoop, scenarioResult, scrapeCache } from './measure.js'
import type { Pacing } from './pacing.js'
import { median } from './report.js'
import { groupsPlainRequests, groupsRequests, messagesRequests, type Req } from './requests.js'
import type { CacheCounters, FixedRate, ScenarioResult, Throughput } from './scenario-result.js'
import type { Child } from './servers.js'
import type { ShieldMode } from './shield.js'
import { RoundTally } from './tally.js'
import { type RoundCounts, wrkRound } from './wrk.js'

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
    if (before && this.cache) this.cache = cacheSum(this.cache, cacheDelta(before, await scrapeCache(env.driver, target.url, env.metricsToken)))
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
    return scenarioResult(s.spec.id, s.spec.label, s.spec.description, s.spec.target, {
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
