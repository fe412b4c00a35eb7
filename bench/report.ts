// The results: a table on stdout, the ratios, and JSON under bench/results/ (latest.json too),
// copied to docs/bench-latest.json.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RealtimeResult } from './realtime.js'
import type { FixedRate, ScenarioResult } from './scenario-result.js'
import type { BenchOptions } from './scenarios.js'
import { type Pinning, ROOT } from './servers.js'
import { shieldLine } from './shield.js'
import { type Pacing, pacingLine } from './pacing.js'

/** The open loop's pacing, for the header (results from before it was an option were paced by timers). */
const driverPacing = (o: { latencyDriver: string; pacing?: Pacing }): string =>
  o.latencyDriver === 'open-loop' ? `, ${pacingLine(o.pacing ?? { kind: 'timer' })}` : ''

export interface Machine {
  nproc: number
  cpuModel: string
  node: string
  platform: string
  totalMemMb: number
  /** 1-minute load average when the bench started: how busy the shared machine was. */
  loadAvg1m: number
  /** Where the processes ran: the servers (and the baseline, in its turn) on some CPUs, the load generator on the others. */
  pinning?: Pinning
}

/** A cache-hit scenario against the baseline at one connection count. */
export interface HitRatio {
  connections: number
  /** Median over the interleaved slices of (scenario req/s ÷ baseline req/s in the same slice). */
  median: number
  /** Each slice's ratio. */
  slices: number[]
}

export interface Ratios {
  /** a-groups req/s over d-baseline req/s. */
  cacheHitVsBaseline: number | null
  /** a-groups req/s over b-groups req/s. */
  groupsCacheVsNoCache: number | null
  /** a-messages req/s over b-messages req/s. */
  messagesCacheVsNoCache: number | null
  /**
   * Server CPU per request, a-groups over d-baseline: what the tRPC cache-hit path costs relative
   * to the bare route. Steadier than req/s on a small shared machine, where the client, Redis and
   * the other tenants share the cores with the server.
   */
  cpuCostCacheHitVsBaseline: number | null
  /** CPU per request of b-groups (server + dynalite) over a-groups (server). */
  cpuCostNoCacheVsCache: number | null
  /** Stale reads over every mixed-load run (messages and groups). */
  staleReads: number | null
  /** Each cache-hit scenario (a-groups, a-groups-plain, a-messages) over d-baseline, by connection count. */
  hitVsBaseline?: Record<string, HitRatio[]>
  /** The one open-loop rate the cache hits and the baseline were compared at (req/s), when they were. */
  commonRate?: number
  /** Server CPU µs per request at the fixed rate (the common one when it ran), each cache-hit scenario's over d-baseline's. */
  cpuAtRateVsBaseline?: Record<string, number | null>
}

export interface BenchResults {
  version: 1
  startedAt: string
  finishedAt: string
  totalSec: number
  machine: Machine
  options: BenchOptions
  fixtures: { users: number; conversations: number; messagesEach: number; seconds: number }
  scenarios: ScenarioResult[]
  ratios: Ratios
  /** Scenario (e), when it ran. */
  realtime?: RealtimeResult
  /** nginx answering the same bytes at the common rate (bench/nginx-floor.ts), or why it did not run. */
  floor?: { server: string; latency: FixedRate } | { missing: string }
}

export function machine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown'
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    nproc: cpus().length,
    cpuModel,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemMb: Math.round(totalmem() / 2 ** 20),
    loadAvg1m: loadavg()[0] ?? 0,
  }
}

export function ratios(scenarios: ScenarioResult[]): Ratios {
  const rps = (id: string) => scenarios.find((s) => s.id === id)?.throughput.rps
  const over = (a: string, b: string) => {
    const x = rps(a)
    const y = rps(b)
    return x !== undefined && y !== undefined && y > 0 ? x / y : null
  }
  const cost = (a: string, b: string, withDynalite: boolean) => {
    const cpu = (id: string) => {
      const s = scenarios.find((x) => x.id === id)
      return s ? s.cpuUsPerRequest.server + (withDynalite ? s.cpuUsPerRequest.dynalite : 0) : undefined
    }
    const x = cpu(a)
    const y = cpu(b)
    return x !== undefined && y !== undefined && y > 0 ? x / y : null
  }
  const mixed = scenarios.filter((s) => s.consistency)
  const baseline = scenarios.find((s) => s.id === 'd-baseline')
  const hits = scenarios.filter((s) => s.id.startsWith('a-'))
  const hitVsBaseline: Record<string, HitRatio[]> = {}
  const cpuAtRateVsBaseline: Record<string, number | null> = {}
  for (const s of baseline ? hits : []) {
    hitVsBaseline[s.id] = (s.byConnections ?? []).flatMap(({ connections, sliceRps }) => {
      const base = baseline!.byConnections?.find((b) => b.connections === connections)
      if (!base) return []
      // Paired: the slices ran one after the other, so each ratio compares the same moments of the machine.
      const slices = sliceRps.map((rps, i) => rps / (base.sliceRps[i] ?? NaN)).filter(Number.isFinite)
      return [{ connections, median: median(slices), slices }]
    })
    // At the common rate when it ran (the same rate for both), else each at its own.
    const common = s.cpuAtCommonRate && baseline!.cpuAtCommonRate
    const a = common ? s.cpuAtCommonRate!.perRequest.server : s.cpuUsPerRequestAtRate?.server
    const d = common ? baseline!.cpuAtCommonRate!.perRequest.server : baseline!.cpuUsPerRequestAtRate?.server
    cpuAtRateVsBaseline[s.id] = a !== undefined && d !== undefined && d > 0 ? a / d : null
  }
  return {
    ...(baseline && hits.length ? { hitVsBaseline, cpuAtRateVsBaseline } : {}),
    ...(baseline?.cpuAtCommonRate ? { commonRate: baseline.cpuAtCommonRate.rate } : {}),
    cacheHitVsBaseline: over('a-groups', 'd-baseline'),
    groupsCacheVsNoCache: over('a-groups', 'b-groups'),
    messagesCacheVsNoCache: over('a-messages', 'b-messages'),
    cpuCostCacheHitVsBaseline: cost('a-groups', 'd-baseline', false),
    cpuCostNoCacheVsCache: cost('b-groups', 'a-groups', true),
    staleReads: mixed.length ? mixed.reduce((n, s) => n + s.consistency!.staleMessageReads + s.consistency!.staleGroupReads, 0) : null,
  }
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN
}

/** The pinning, in words. */
export const pinningLine = (m: Machine): string =>
  !m.pinning
    ? 'not pinned'
    : m.pinning.pinned
      ? `pinned with taskset: the server under test (and the baseline, in its turn) on CPU ${m.pinning.serverCpus}, the load generator and dynalite on CPU ${m.pinning.loadCpus}; ${shieldLine(m.pinning.shielded, m.pinning.serverCpus, m.pinning.loadCpus)}`
      : `not pinned (${m.pinning.reason})`

/**
 * The fixed-rate rounds' tails, seen apart from the load generator's lateness (from each request's
 * send, beside how late the sends were) and by half second (how many held 5 ms at p99): whether a
 * p99 is the server's steady tail or a few moments of the machine's. And how busy the server's core
 * was: half the saturated req/s is not half the core, since a saturated server answers many
 * connections per wake-up of its event loop and one at half the rate mostly one (ninth round of
 * docs/benchmark.md), and a busier core turns the machine's short stops into longer queues.
 */
export function tailLines(results: Pick<BenchResults, 'scenarios'>): string[] {
  const rows = results.scenarios.filter((s) => /^(a-|d-)/.test(s.id) && s.fixedRate.latencyFromSend && s.fixedRate.sendLag && s.fixedRate.timeline?.length)
  if (!rows.length) return []
  return [
    'p99 at half saturation from each request\'s send (the open loop\'s own lateness left out), the sends\' lateness at p99, the half seconds whose p99 was under 5 ms, and how busy the server\'s core was at that rate: ' +
      rows
        .map((s) => {
          const f = s.fixedRate
          const under = f.timeline!.filter((t) => t.p99 < 5).length
          const busy = busyAtRate(s)
          return `${s.id} ${ms(f.latencyFromSend!.p99)} ms (sends ${ms(f.sendLag!.p99)} ms late; ${under} of ${f.timeline!.length} half seconds${busy === undefined ? '' : `; core ${(busy * 100).toFixed(0)} % busy`})`
        })
        .join(', '),
  ]
}

/** The share of its core the server was busy in its fixed-rate round: req/s × CPU seconds a request. */
export const busyAtRate = (s: Pick<ScenarioResult, 'fixedRate' | 'cpuUsPerRequestAtRate'>): number | undefined =>
  s.cpuUsPerRequestAtRate ? (s.fixedRate.rps * s.cpuUsPerRequestAtRate.server) / 1e6 : undefined

/**
 * The tails at the common rate, where the hits, the baseline and the floor took turns slice by slice
 * at one rate: the same moments of the machine, the same load on each.
 */
export function commonRateTailLines(results: Pick<BenchResults, 'scenarios' | 'floor'>): string[] {
  const rows = results.scenarios.filter((s) => s.cpuAtCommonRate?.latency.timeline?.length)
  if (!rows.length) return []
  const tail = (f: FixedRate) => `${ms(f.latency.p50)} / ${ms(f.latency.p99)} ms (${f.timeline!.filter((t) => t.p99 < 5).length} of ${f.timeline!.length})`
  const floor = results.floor
  return [
    `At the common rate (${rows[0]!.cpuAtCommonRate!.rate}/s), in turns slice by slice, p50 / p99 from when each request was due, and the half seconds whose p99 was under 5 ms: ` +
      rows.map((s) => `${s.id} ${tail(s.cpuAtCommonRate!.latency)}`).join(', ') +
      (!floor
        ? ''
        : 'missing' in floor
          ? `; the floor was not measured: ${floor.missing}`
          : `; the floor, ${floor.server} on the same core answering the same bytes from memory (no Redis, no JavaScript): ${tail(floor.latency)}`),
  ]
}

/** The hit-path ratios, one line per scenario. */
export function hitRatioLines(r: Ratios): string[] {
  return Object.entries(r.hitVsBaseline ?? {}).map(
    ([id, byC]) =>
      `${id} / d-baseline req/s: ${byC.map((h) => `${h.median.toFixed(2)}× at ${h.connections} connections (slices ${h.slices.map((x) => x.toFixed(2)).join(', ')})`).join('; ')}` +
      (r.cpuAtRateVsBaseline?.[id] != null
        ? `; server CPU per request at ${r.commonRate ? `the same fixed rate (${r.commonRate}/s)` : 'the fixed rate'} ${r.cpuAtRateVsBaseline[id].toFixed(2)}× the baseline's`
        : ''),
  )
}

/** CPU µs per request at the common rate (at its own half-saturation rate in parentheses), or at its own. */
function atRate(s: ScenarioResult): string {
  const own = s.cpuUsPerRequestAtRate ? Math.round(s.cpuUsPerRequestAtRate.server).toString() : '-'
  return s.cpuAtCommonRate ? `${Math.round(s.cpuAtCommonRate.perRequest.server)} (${own})` : own
}

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) : '-')

export function table(results: BenchResults): string {
  const counts = results.options.connectionCounts
  const head = ['scenario', 'req/s', ...counts.map((c) => `@${c}c`), 'srv µs/req@rate', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors', 'non-2xx', 'hit ratio', 'RSS MB', 'srv µs/req', 'cores srv/all']
  const rows = results.scenarios.map((s) => [
    s.id,
    Math.round(s.throughput.rps).toString(),
    ...counts.map((c) => {
      const by = s.byConnections?.find((b) => b.connections === c)
      return by ? Math.round(by.rps).toString() : '-'
    }),
    atRate(s),
    ms(s.fixedRate.latency.p50),
    ms(s.fixedRate.latency.p97_5),
    ms(s.fixedRate.latency.p99),
    String(s.errors),
    String(s.non2xx),
    s.hitRatio === null ? '-' : `${(s.hitRatio * 100).toFixed(1)}%`,
    s.memory ? s.memory.rssMb.toFixed(0) : '-',
    Math.round(s.cpuUsPerRequest.server).toString(),
    `${s.cpuCores.server.toFixed(2)}/${s.cpuCores.machine.toFixed(2)}`,
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)]

  const r = results.ratios
  const x = (v: number | null, digits = 2) => (v === null ? 'n/a' : `${v.toFixed(digits)}×`)
  out.push(
    '',
    `srv µs/req@rate: the server process's CPU time per request at a fixed open-loop rate (the primary cost figure): for the cache hits and the baseline at one common rate, with the figure at each one's own half-saturation rate in parentheses; @Nc: req/s with N connections`,
    `srv µs/req: the same in the throughput round; cores srv/all: cores busy with the server / on the whole machine (of ${results.machine.nproc}) in the throughput round`,
    pinningLine(results.machine),
    `req/s: max rate (${results.options.throughputDriver === 'wrk' ? 'wrk' : 'autocannon'}), ${results.options.connections} connections, no pipelining; latency: ${results.options.latencyDriver}${driverPacing(results.options)} at ${Math.round(results.options.latencyLoad * 100)}% of each scenario's req/s` +
      (results.options.slices > 1 ? `; a, b, d rounds interleaved in ${results.options.slices} slices` : ''),
    `(a) / (d)  cache hit vs bare Fastify + Redis GET:   ${x(r.cacheHitVsBaseline)}`,
    `(a) / (b)  groups, cache vs CACHE_MODE=off:         ${x(r.groupsCacheVsNoCache)}`,
    `(a) / (b)  messages, cache vs CACHE_MODE=off:       ${x(r.messagesCacheVsNoCache)}`,
    `server CPU per request: a-groups costs ${x(r.cpuCostCacheHitVsBaseline)} of d-baseline's; b-groups (server + dynalite) ${x(r.cpuCostNoCacheVsCache)} of a-groups'`,
    ...hitRatioLines(r),
    ...tailLines(results),
    ...commonRateTailLines(results),
  )
  for (const s of results.scenarios.filter((s) => s.consistency)) {
    const c = s.consistency!
    out.push(
      `(c) ${s.id}: stale reads ${c.staleMessageReads + c.staleGroupReads} (messages ${c.staleMessageReads} of ${c.messageReads}, groups ${c.staleGroupReads} of ${c.groupReads}), ` +
        `writes ${c.writes}, failed writes ${c.failedWrites}, errors ${s.errors}, non-2xx ${s.non2xx}`,
    )
  }
  for (const s of results.scenarios.filter((s) => s.fixedRate.overloaded)) {
    out.push(
      `note: ${s.id}: the fixed-rate round got ${Math.round(s.fixedRate.rps)}/s of ${s.fixedRate.targetRate}/s asked: ` +
        'the machine did not keep up, so its latencies include a growing queue',
    )
  }
  for (const s of results.scenarios) {
    const redisErrors = s.cache?.redisErrors ?? 0
    if (!redisErrors && !s.warnings) continue
    let first = s.warningLines[0] ?? ''
    try {
      const line = JSON.parse(first) as { msg?: string; reason?: string }
      first = [line.msg, line.reason].filter(Boolean).join(': ')
    } catch {
      // not a pino line: as written
    }
    out.push(`note: ${s.id}: ${redisErrors} Redis command errors, ${s.warnings} server warnings${first ? ` (first: ${first})` : ''}`)
  }
  if (results.realtime) out.push('', ...realtimeLines(results.realtime))
  const m = results.machine
  out.push('', `machine: ${m.nproc} × ${m.cpuModel}, node ${m.node}, load average ${m.loadAvg1m.toFixed(2)} at start; ${results.totalSec.toFixed(0)} s in all`)
  return out.join('\n')
}

/** Scenario (e) in a few lines (the table and docs/benchmark.md share them). */
export function realtimeLines(r: RealtimeResult): string[] {
  const d = r.delivery
  const added = (q: 'p50' | 'p99') => d.deliveryMs[q] - d.createMs[q]
  return [
    `(e) delivery, ${d.subscriptions} open subscriptions, ${d.rate} messages/s (${d.sent} sent): send to receipt on the other instance ` +
      `p50 ${ms(d.deliveryMs.p50)} ms, p99 ${ms(d.deliveryMs.p99)} ms; the create itself p50 ${ms(d.createMs.p50)} ms, p99 ${ms(d.createMs.p99)} ms: ` +
      `the push adds ${ms(added('p50'))} ms at p50, ${ms(added('p99'))} ms at p99; ${d.missing} missing`,
    `(e) memory: ${r.memory.subscriptions} idle subscriptions, server RSS ${r.memory.rssBeforeMb.toFixed(0)} -> ${r.memory.rssAfterMb.toFixed(0)} MB: ` +
      `${r.memory.kbPerSubscription.toFixed(1)} KB each`,
    `(e) mass reconnect: ${r.reconnect.subscribers} subscribers, instance restarted while ${d.rate} messages/s kept coming: all caught up ` +
      `${r.reconnect.caughtUpSec.toFixed(1)} s after the restart began, with ${r.reconnect.catchUpReads} DynamoDB reads; ` +
      `${r.reconnect.lost} lost, ${r.reconnect.duplicated} duplicated (of ${r.reconnect.sent} messages)`,
  ]
}

/** <dir>/<timestamp>.json and <dir>/latest.json (bench/results by default). */
export async function writeResults(results: BenchResults, dir = join(ROOT, 'bench', 'results')): Promise<{ file: string; latest: string }> {
  await mkdir(dir, { recursive: true })
  const stamp = results.startedAt.replace(/[:.]/g, '-')
  const file = join(dir, `${stamp}.json`)
  const latest = join(dir, 'latest.json')
  const json = JSON.stringify(results, null, 2) + '\n'
  await writeFile(file, json)
  await writeFile(latest, json)
  return { file, latest }
}

/** A run of every scenario: what docs/ shows. Partial runs (a smoke test, one scenario) stay out of it. */
export const complete = (results: BenchResults): boolean => ['a', 'b', 'c', 'd'].every((s) => results.options.scenarios.includes(s))

const START = '<!-- bench:latest:start (written by npm run bench) -->'
const END = '<!-- bench:latest:end -->'

/** The latest figures as Markdown: what docs/benchmark.md shows between its markers. */
export function markdown(results: BenchResults): string {
  const m = results.machine
  const o = results.options
  const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`)
  const x = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)}×`)
  const lines = [
    `Run of ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} × ${m.cpuModel} (\`nproc\` ${m.nproc}, ${m.totalMemMb} MB), ` +
      `Node ${m.node}, ${m.platform}; load average ${m.loadAvg1m.toFixed(2)} when it started; ${results.totalSec.toFixed(0)} s in all. ` +
      `Options: ${o.durationSec} s rounds (${o.slices} interleaved slices for a, b, d), ${o.warmupSec} s warm-up, ${o.connections} connections, ` +
      `${results.fixtures.users} users, ${results.fixtures.conversations} conversations × ${results.fixtures.messagesEach} messages; ` +
      `req/s from ${o.throughputDriver === 'wrk' ? 'wrk (one thread)' : 'autocannon'}; latency at ${Math.round(o.latencyLoad * 100)} % of each scenario's req/s (${o.latencyDriver}${driverPacing(o)}).`,
    '',
    `${pinningLine(m)}.`,
    '',
    `| scenario | server CPU µs/req at the common fixed rate (at its own) | req/s | ${o.connectionCounts.map((c) => `req/s, ${c} conn.`).join(' | ')}${o.connectionCounts.length ? ' | ' : ''}p50 ms | p97.5 ms | p99 ms | errors | non-2xx | cache hit ratio | server RSS MB | server CPU µs/req (saturated) | cores: server / machine |`,
    `|---|--:|--:|${o.connectionCounts.map(() => '--:|').join('')}--:|--:|--:|--:|--:|--:|--:|--:|--:|`,
    ...results.scenarios.map(
      (s) =>
        `| ${s.id} | ${atRate(s).replace(/^-$/, '–')} | ${Math.round(s.throughput.rps)} | ` +
        o.connectionCounts.map((c) => `${Math.round(s.byConnections?.find((b) => b.connections === c)?.rps ?? NaN) || '–'} | `).join('') +
        `${ms(s.fixedRate.latency.p50)} | ${ms(s.fixedRate.latency.p97_5)} | ${ms(s.fixedRate.latency.p99)} | ` +
        `${s.errors} | ${s.non2xx} | ${pct(s.hitRatio)} | ${s.memory ? s.memory.rssMb.toFixed(0) : '–'} | ${Math.round(s.cpuUsPerRequest.server)} | ` +
        `${s.cpuCores.server.toFixed(2)} / ${s.cpuCores.machine.toFixed(2)} |`,
    ),
    '',
    `- (a) / (d), cache hit vs bare Fastify + one Redis GET: **${x(results.ratios.cacheHitVsBaseline)}** in req/s; ` +
      `server CPU per request **${x(results.ratios.cpuCostCacheHitVsBaseline)}** the baseline's.`,
    ...hitRatioLines(results.ratios).map((l) => `- ${l}`),
    ...tailLines(results).map((l) => `- ${l}`),
    ...commonRateTailLines(results).map((l) => `- ${l}`),
    `- (a) / (b), cache vs \`CACHE_MODE=off\`: **${x(results.ratios.groupsCacheVsNoCache)}** (messageGroups.list), ` +
      `**${x(results.ratios.messagesCacheVsNoCache)}** (messages.list) in req/s; without the cache a groups read costs ` +
      `${x(results.ratios.cpuCostNoCacheVsCache)} the CPU (server + dynalite).`,
  ]
  for (const s of results.scenarios.filter((s) => s.consistency)) {
    const c = s.consistency!
    lines.push(
      `- ${s.id} (${s.target}): **${c.staleMessageReads + c.staleGroupReads} stale reads** (messages.list ${c.staleMessageReads} of ${c.messageReads}, ` +
        `messageGroups.list ${c.staleGroupReads} of ${c.groupReads}) over ${c.writes} acknowledged writes; ${c.failedWrites} failed writes, ${s.errors} errors, ${s.non2xx} non-2xx.`,
    )
  }
  if (results.realtime) lines.push(...realtimeLines(results.realtime).map((l) => `- ${l}`))
  for (const s of results.scenarios) {
    if (s.fixedRate.overloaded) lines.push(`- ${s.id}: the fixed-rate round got ${Math.round(s.fixedRate.rps)}/s of ${s.fixedRate.targetRate}/s: its latencies include a growing queue.`)
    const redisErrors = s.cache?.redisErrors ?? 0
    if (redisErrors || s.warnings) lines.push(`- ${s.id}: ${redisErrors} Redis command errors and ${s.warnings} server warnings during the measured rounds.`)
  }
  return lines.join('\n')
}

/** Rewrites the figures between the markers of docs/benchmark.md; false when it has none. */
export async function updateDoc(results: BenchResults, file = join(ROOT, 'docs', 'benchmark.md')): Promise<boolean> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch {
    return false
  }
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) return false
  await writeFile(file, `${text.slice(0, a + START.length)}\n${markdown(results)}\n${text.slice(b)}`)
  return true
}
