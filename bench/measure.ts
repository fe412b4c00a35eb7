// Measuring a scenario: the CPU of its processes over its rounds, the servers' cache counters, and
// the result they add up to.
import { cpus } from 'node:os'
import type { HttpDriver } from './http-driver.js'
import type { CacheCounters, CpuSummary, FixedRate, ScenarioResult, Throughput } from './scenario-result.js'
import { type Child, cpuSecondsOf, machineCpuSeconds, memoryOf } from './servers.js'
import type { RoundResult } from './tally.js'

/** CPU used by the server(s), dynalite, this process and the whole machine, over start/stop windows. */
export class CpuMeter {
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

export const cacheDelta = (a: CacheCounters, b: CacheCounters): CacheCounters => ({
  hits: b.hits - a.hits,
  misses: b.misses - a.misses,
  redisErrors: b.redisErrors - a.redisErrors,
})
export const cacheSum = (x: CacheCounters, y: CacheCounters): CacheCounters => ({
  hits: x.hits + y.hits,
  misses: x.misses + y.misses,
  redisErrors: x.redisErrors + y.redisErrors,
})
const ratio = (c: CacheCounters | null) => (c && c.hits + c.misses > 0 ? c.hits / (c.hits + c.misses) : null)

export interface Measure {
  throughput: Throughput
  fixedRate: FixedRate
  cache: CacheCounters | null
  cpu: CpuSummary
  warnings: number
  warningLines: string[]
}

export function fromOpenLoop(r: RoundResult): FixedRate {
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

export function scenarioResult(id: string, label: string, description: string, target: Child, m: Measure, extra: Partial<ScenarioResult> = {}): ScenarioResult {
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
