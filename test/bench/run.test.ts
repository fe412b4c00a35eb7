// `npm run bench` end to end, small: what issue 11 asks of the measurement. The server under test and
// the baseline pinned to CPU 0 and everything the bench runs itself to the others (seen in /proc while
// it runs), the hits against the baseline as medians of paired slices at 10 and at 50 connections,
// the server's CPU per request at a fixed rate and at one common rate for the hits and the baseline,
// and a complete run written elsewhere (`--out`) leaving docs/ alone, where a complete run in
// bench/results would publish itself there. Real servers, Redis, PostgreSQL, dynalite.
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { BenchResults } from '../../bench/report.js'
import { complete, median } from '../../bench/report.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const canPin = cpus().length >= 2 && spawnSync('taskset', ['-p', String(process.pid)]).status === 0

/** The CPUs a process may run on (`0`, `1`, `0-1`), or undefined once it is gone. */
const allowedCpus = (pid: number): string | undefined => {
  try {
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  } catch {
    return undefined
  }
}
/** The direct children of `pid`: their command lines and CPUs. */
const childrenOf = (pid: number): { cmd: string; cpus: string }[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) return []
        const cpusOf = allowedCpus(Number(d))
        return cpusOf ? [{ cmd: readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' '), cpus: cpusOf }] : []
      } catch {
        return [] // gone meanwhile
      }
    })

t.setTimeout(300_000)

t.test('a small complete run (a, b, c, d) against the baseline', { timeout: 280_000 }, async (t) => {
  const out = t.testdir()
  const docs = ['bench-latest.json', 'bench-latency.svg', 'benchmark.md'].map((f) => join(ROOT, 'docs', f))
  const docsBefore = docs.map((f) => statSync(f).mtimeMs)
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--duration', '2', '--slices', '2', '--warmup', '1', '--scenarios', 'a,b,c,d', '--no-multi', '--users', '8', '--conversations', '8', '--messages', '2', '--out', out],
    { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGINT')
  })
  // Where its processes run, looked at while they do: each one's CPU lists, in the order seen.
  const seen = new Map<string, string[]>()
  const saw = (name: string, cpusOf: string) => {
    const list = seen.get(name) ?? []
    if (list.at(-1) !== cpusOf) list.push(cpusOf)
    seen.set(name, list)
  }
  const watch = setInterval(() => {
    const own = allowedCpus(child.pid!)
    if (own) saw('bench', own)
    for (const c of childrenOf(child.pid!)) {
      const name = c.cmd.includes('server/main.ts') ? 'server' : c.cmd.includes('baseline-server.ts') ? 'baseline' : c.cmd.includes('dynalite') ? 'dynalite' : undefined
      if (name && !c.cmd.startsWith('taskset')) saw(name, c.cpus)
    }
  }, 100)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearInterval(watch)
  t.equal(code, 0, output.slice(-3000))

  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResults
  t.ok(complete(results), 'a complete run: one that would publish itself to docs/')
  t.same(docs.map((f) => statSync(f).mtimeMs), docsBefore, 'docs/ left as they are')
  t.match(output, /written to --out: docs\/ left as they are/)

  if (canPin) {
    const loadCpus = cpus().length === 2 ? '1' : `1-${cpus().length - 1}`
    t.same(results.machine.pinning, { pinned: true, serverCpus: '0', loadCpus })
    t.match(output, /pinned with taskset: the server under test \(and the baseline, in its turn\) on CPU 0/)
    t.same(seen.get('server'), ['0'], 'the server under test ran on CPU 0 only')
    t.same(seen.get('baseline'), ['0'], 'the baseline ran on CPU 0 only')
    t.same(seen.get('dynalite'), [loadCpus], 'dynalite with the load generator')
    t.equal(seen.get('bench')?.at(-1), loadCpus, 'the load generator on the other CPUs')
  } else {
    t.match(results.machine.pinning, { pinned: false })
    t.match(output, /not pinned \(/, 'the table says it could not pin')
  }

  t.same(results.scenarios.map((s) => s.id), ['a-groups', 'd-baseline', 'a-groups-plain', 'a-messages', 'b-groups', 'b-messages', 'c-mixed'])
  t.equal(results.ratios.staleReads, 0, 'no stale reads in the mixed load')
  // The cache hits and the baseline: the comparison issue 11 is about.
  const compared = results.scenarios.filter((s) => /^(a-|d-)/.test(s.id))
  const byId = new Map(compared.map((s) => [s.id, s]))
  const base = byId.get('d-baseline')!
  const commonRate = results.ratios.commonRate!
  t.equal(commonRate, Math.max(1, Math.round(Math.min(...compared.map((s) => s.throughput.rps)) * 0.5)), 'the common rate is half the slowest one')
  for (const s of compared) {
    t.equal(s.errors + s.non2xx, 0, `${s.id}: no errors`)
    t.same(s.byConnections?.map((b) => [b.connections, b.sliceRps.length]), [[10, 2], [50, 2]], `${s.id}: req/s at 10 and at 50 connections, each slice's`)
    t.equal(s.fixedRate.driver, 'open-loop')
    t.equal(s.fixedRate.targetRate, Math.max(1, Math.round(s.throughput.rps * 0.5)), `${s.id}: latency at half its req/s`)
    t.ok(s.fixedRate.timeline?.length, `${s.id}: a timeline`)
    t.ok(s.cpuUsPerRequestAtRate!.server > 0, `${s.id}: server CPU per request at its fixed rate`)
    t.equal(s.cpuAtCommonRate?.rate, commonRate, `${s.id}: measured at the common rate`)
    t.ok(s.cpuAtCommonRate!.perRequest.server > 0 && s.cpuAtCommonRate!.completed > 0)
  }
  for (const id of ['a-groups', 'a-groups-plain', 'a-messages']) {
    const s = byId.get(id)!
    t.equal(s.hitRatio, 1, `${id}: every read a cache hit`)
    const pairs = results.ratios.hitVsBaseline![id]!
    t.same(pairs.map((p) => p.connections), [10, 50])
    for (const p of pairs) {
      const mine = s.byConnections!.find((b) => b.connections === p.connections)!.sliceRps
      const theirs = base.byConnections!.find((b) => b.connections === p.connections)!.sliceRps
      t.same(p.slices, mine.map((r, i) => r / theirs[i]!), `${id} @${p.connections}: each slice over the baseline's same slice`)
      t.equal(p.median, median(p.slices))
    }
    t.equal(results.ratios.cpuAtRateVsBaseline![id], s.cpuAtCommonRate!.perRequest.server / base.cpuAtCommonRate!.perRequest.server)
  }
  if (results.floor && 'latency' in results.floor) t.equal(results.floor.latency.targetRate, commonRate, 'the floor at the common rate')
  else t.match(results.floor, { missing: /nginx/ })
  t.match(output, /srv µs\/req@rate/)
  t.match(output, /a-groups [\d.]+ ms \(sends [\d.]+ ms late; \d+ of \d+ half seconds; core \d+ % busy\)/, 'how busy the core was at half saturation')
  t.match(output, /a-groups \/ d-baseline req\/s: [\d.]+× at 10 connections .*; [\d.]+× at 50 connections/)
})
