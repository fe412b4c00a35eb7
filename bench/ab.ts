// npm run bench:ab -- [--scenario groups|plain|messages] [--connections 50] [--rate N] [--pacing precise|timer] [--driver node|wrk] [--slices 30] [--slice 0.5] [--shield off|nice|move]
//                     [--perf-map] name=<checkout>[:baseline][:scenario=groups|plain|messages][:flags=--a,--b][:entry=file][:ENV=value...] ...
// A/B of server builds on the cache-hit path: each variant is a checkout (a `git worktree` of another
// commit, say) whose server/main.ts runs with the same backends, fixtures and warm cache; `:baseline`
// runs that checkout's bench/baseline-server.ts instead. Variants take turns in short interleaved
// slices (0.5 s by default, pinned to CPU 0 as in `npm run bench`), so that the machine's drift falls
// on all of them alike, and the totals compare their req/s and server CPU per request, the first
// variant being the reference. Closed loop at N connections, or open loop at a fixed `--rate`.
// `:scenario=` gives a variant a scenario of its own: two request shapes on one build, side by side
// (`groups=. plain=.:scenario=plain`), which runs one after the other cannot compare on a drifting VM.
// `:flags=` gives a variant Node / V8 flags, comma-separated (`st=.:flags=--single-threaded-gc`).
// `:entry=` runs another script of the checkout: a compiled bundle (`.js`/`.mjs`) runs without tsx.
// With --perf-map the servers run with `--perf-basic-prof-only-functions`, for `perf record -p <pid>`.
// --driver wrk: the closed loop is wrk's, in whole-second slices, as `npm run bench` measures req/s (wrk
// sends each request as its answer arrives; the bench's Node client answers in batches of its event
// loop, which gave the same build 33 µs a request against 39–44 with wrk, the baseline 30 against 31–34).
// With --rate, each variant's slices also make one latency round (from when each request was due):
// p50 / p99 / max, how busy the server's core was, and the p99 of each half second.

import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { quietNodeVersionWarning } from '../server/lib/process.js'
import { freePort } from '../test/helpers/ports.js'
import { CLIENT_ID, createConversations, createDatabase, createMessageTable, createSigning, createUsers, POOL_ID } from './fixtures.js'
import { HttpDriver, type Op } from './http-driver.js'
import { closedLoop, openLoop, SLICE_WARMUP_SEC } from './load.js'
import { pacingLine, pacingOf } from './pacing.js'
import { RoundTally } from './tally.js'
import { wrkRound } from './wrk.js'
import { groupsPlainRequests, groupsRequests, messagesRequests } from './requests.js'
import { killAllNow, pinLoadGenerator, startDynaliteChild, startServer, stopAll } from './servers.js'
import { shieldLine, shieldMode } from './shield.js'

quietNodeVersionWarning()
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'groups' },
    connections: { type: 'string', default: '50' },
    rate: { type: 'string' },
    slices: { type: 'string', default: '30' },
    slice: { type: 'string', default: '0.5' },
    'perf-map': { type: 'boolean', default: false },
    shield: { type: 'string', default: 'off' },
    pacing: { type: 'string', default: 'precise' },
    driver: { type: 'string', default: 'node' },
  },
})
const scenario = values.scenario
const useWrk = values.driver === 'wrk'
if (!['groups', 'plain', 'messages'].includes(scenario) || positionals.length < 1 || !['node', 'wrk'].includes(values.driver) || (useWrk && values.rate !== undefined)) {
  console.error('usage: npm run bench:ab -- [--scenario groups|plain|messages] [--connections N] [--rate N] [--pacing precise|timer] [--driver node|wrk (closed loop only)] [--slices N] [--slice S] [--shield off|nice|move] name=<dir>[:baseline][:scenario=groups|plain|messages][:flags=--a,--b][:entry=file][:ENV=v] ...')
  process.exit(2)
}
const connections = Number(values.connections)
const rate = values.rate === undefined ? undefined : Number(values.rate)
const pacing = pacingOf(values.pacing)

type Scenario = 'groups' | 'plain' | 'messages'
const SCENARIOS: readonly Scenario[] = ['groups', 'plain', 'messages']

interface Variant {
  name: string
  dir: string
  baseline: boolean
  /** Node / V8 flags of its process (`:flags=--a,--b`). */
  flags: string[]
  /** Its own scenario (`:scenario=plain`), to set two request shapes side by side on one build. */
  scenario: Scenario
  env: Record<string, string>
  /** The script it runs (`:entry=`), instead of server/main.ts or the baseline; JavaScript runs without tsx. */
  entry: string | undefined
}
const variants: Variant[] = positionals.map((p) => {
  const at = p.indexOf('=')
  const [dir = '', ...rest] = p.slice(at + 1).split(':')
  if (at < 1 || !existsSync(join(dir, 'server', 'main.ts'))) throw new Error(`${p}: expected name=<checkout>[:baseline][:ENV=value]`)
  const pairs = rest.filter((r) => r.includes('=')).map((r) => [r.slice(0, r.indexOf('=')), r.slice(r.indexOf('=') + 1)] as const)
  const own = pairs.find(([k]) => k === 'scenario')?.[1] ?? scenario
  if (!(SCENARIOS as readonly string[]).includes(own)) throw new Error(`${p}: scenario=${SCENARIOS.join('|')}`)
  const env = Object.fromEntries(pairs.filter(([k]) => !['scenario', 'flags', 'entry'].includes(k)))
  const flags = pairs.find(([k]) => k === 'flags')?.[1].split(',').filter(Boolean) ?? []
  return { name: p.slice(0, at), dir: resolve(dir), baseline: rest.includes('baseline'), scenario: own as Scenario, flags, env, entry: pairs.find(([k]) => k === 'entry')?.[1] }
})

const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000 // utime + stime, in 100 Hz ticks
}

async function main() {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const pinning = pinLoadGenerator({ shield: shieldMode(values.shield), redisUrl })
  const prefix = `cmab_${Math.random().toString(36).slice(2, 10)}`
  const redis = new Redis(redisUrl)
  const dynalite = await startDynaliteChild()
  await createMessageTable(dynalite.url, 'cruddur-messages')
  const db = await createDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  const signing = await createSigning()
  const common: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
    DDB_MESSAGE_TABLE: 'cruddur-messages',
    COGNITO_USER_POOL_ID: POOL_ID,
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_JWKS_FILE: signing.jwksFile,
    CACHE_KEY_PREFIX: prefix,
    CACHE_MODE: 'auto',
    METRICS_TOKEN: crypto.randomUUID(),
    RATE_LIMIT_READS_PER_MINUTE: '1000000000',
    RATE_LIMIT_WRITES_PER_MINUTE: '1000000000',
    RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000000',
    RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: '1000000000',
  }
  const children: { kill(): void }[] = []
  try {
    // Fixtures through this checkout's server, as the bench writes them.
    const writer = await startServer('fixtures', common)
    const driver = new HttpDriver(32)
    const users = await createUsers(db.sql, signing, 200)
    await createConversations(driver, writer.url, users, 400, 3, 32)
    const all = { groups: groupsRequests(users), plain: groupsPlainRequests(users), messages: messagesRequests(users) }
    // A baseline's keys hold the bytes the server answers each user's request of its scenario with.
    for (const sc of new Set(variants.filter((v) => v.baseline).map((v) => v.scenario))) {
      const bodies = await Promise.all(all[sc].map((r) => driver.send({ ...r, url: writer.url }).then((res) => res.body)))
      await Promise.all(bodies.map((b, i) => redis.set(`${prefix}:baseline:${sc}:${i}`, b, 'EX', 3600)))
    }
    driver.close()
    writer.proc.kill('SIGTERM')

    const servers = await Promise.all(
      variants.map(async (v) => {
        const port = await freePort()
        const entry = v.entry ?? (v.baseline ? 'bench/baseline-server.ts' : 'server/main.ts')
        const args = [...v.flags, ...(values['perf-map'] ? ['--perf-basic-prof-only-functions'] : []), ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), entry]
        const [command, argv] = pinning.pinned ? ['taskset', ['-c', pinning.serverCpus, process.execPath, ...args]] : [process.execPath, args]
        const proc = spawn(command, argv, {
          cwd: v.dir,
          env: { ...process.env, ...common, ...v.env, PORT: String(port), HOST: '127.0.0.1', BASELINE_PREFIX: `${prefix}:baseline:${v.scenario}:` },
          stdio: ['ignore', 'ignore', 'inherit'],
        })
        children.push(proc)
        const url = `http://127.0.0.1:${port}`
        for (let i = 0; ; i++) {
          try {
            if ((await fetch(url + (v.baseline ? '/health' : '/ready'))).status === 200) break
          } catch {
            // not listening yet
          }
          if (i > 600) throw new Error(`${v.name} did not start`)
          await new Promise((r) => setTimeout(r, 100))
        }
        const reqs: Op[] = all[v.scenario].map((r, i) => ({ ...r, ...(v.baseline ? { path: `/baseline/${i}` } : {}), url })) // made once: encoded once
        return { ...v, url, pid: proc.pid!, reqs, driver: new HttpDriver(connections), at: 0, n: 0, sec: 0, cpu: 0, paired: [] as number[], tally: new RoundTally() }
      }),
    )
    console.log(`${[...new Set(variants.map((v) => v.scenario))].join(' and ')}, ${rate ? `open loop at ${rate}/s, ${pacingLine(pacing)}` : `closed loop at ${connections} connections${useWrk ? ' (wrk)' : ''}`}, ${values.slices} × ${values.slice} s slices each${pinning.pinned ? `, ${shieldLine(pinning.shielded, pinning.serverCpus, pinning.loadCpus)}` : ''}; pids ${servers.map((s) => `${s.name} ${s.pid}`).join(', ')}`)
    /** One turn of `s`; a measured open-loop turn's latencies go into its tally. */
    const round = async (s: (typeof servers)[number], durationSec: number, measured = false) => {
      if (useWrk) {
        const r = await wrkRound(s.url, s.reqs, connections, durationSec)
        return { completed: r.requests.total, durationSec: r.duration, errors: r.errors, non2xx: r.non2xx, rps: r.requests.total / r.duration }
      }
      const next = () => s.reqs[s.at++ % s.reqs.length]!
      if (!rate) return closedLoop(s.driver, { durationSec, concurrency: connections, next })
      if (!measured) return openLoop(s.driver, { durationSec, rate, pacing, next })
      // Into the variant's tally, which adds up its slices: this slice's share is the difference.
      const t = s.tally
      const [c0, d0, e0, n0] = [t.completed, t.elapsedSec, t.errors + t.dropped, t.non2xx]
      await openLoop(s.driver, { durationSec, rate, pacing, next, tally: t, collect: false })
      const completed = t.completed - c0
      const sec = t.elapsedSec - d0
      return { completed, durationSec: sec, errors: t.errors + t.dropped - e0, non2xx: t.non2xx - n0, rps: completed / sec }
    }
    for (const s of servers) await round(s, 2) // warm-up: the cache, the JIT, the connections
    for (let i = 0; i < Number(values.slices); i++) {
      const rps: number[] = []
      for (const k of i % 2 ? [...servers.keys()].reverse() : [...servers.keys()]) {
        const s = servers[k]!
        // As in `npm run bench`: a slice at a fixed rate starts after half a second at that rate, not
        // measured, so that it measures a steady load rather than a server that was idle while the others
        // had their turns, and a load generator that has just collected its garbage.
        if (rate) await round(s, SLICE_WARMUP_SEC)
        const c0 = cpuMicros(s.pid)
        const r = await round(s, Number(values.slice), true)
        s.cpu += cpuMicros(s.pid) - c0
        s.n += r.completed
        s.sec += r.durationSec
        if (r.errors || r.non2xx) console.log(`${s.name}: ${r.errors} errors, ${r.non2xx} non-2xx`)
        rps[k] = r.rps
      }
      for (let k = 1; k < servers.length; k++) servers[k]!.paired.push(rps[k]! / rps[0]!)
    }
    const ref = servers[0]!
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
    for (const s of servers) {
      const vs = s === ref ? '' : `  vs ${ref.name}: req/s ${(s.n / s.sec / (ref.n / ref.sec)).toFixed(3)} (median of paired slices ${median(s.paired).toFixed(3)}), CPU ${(s.cpu / s.n / (ref.cpu / ref.n)).toFixed(3)}`
      console.log(`${s.name.padEnd(12)} ${(s.n / s.sec).toFixed(0).padStart(6)} req/s  ${(s.cpu / s.n).toFixed(1).padStart(6)} µs CPU/req${vs}`)
    }
    // At a fixed rate, the tails too: each variant's slices as one round, from when each request was due.
    if (rate) {
      for (const s of servers) {
        const r = s.tally.result(rate)
        const halves = r.timeline!
        console.log(
          `${s.name.padEnd(12)} p50 ${r.latency.p50.toFixed(2)}  p99 ${r.latency.p99.toFixed(1)}  max ${r.latency.max.toFixed(1)} ms; core ${((s.cpu / s.sec / 1e6) * 100).toFixed(0)} % busy; ` +
            `p99 under 5 ms in ${halves.filter((h) => h.p99 < 5).length} of ${halves.length} half seconds: ${halves.map((h) => h.p99.toFixed(0)).join(' ')}`,
        )
      }
    }
    for (const s of servers) s.driver.close()
  } finally {
    for (const c of children) c.kill()
    await stopAll()
    await db.drop().catch(() => {})
    await signing.cleanup().catch(() => {})
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await redis.del(...keys)
    } while (cursor !== '0')
    redis.disconnect()
  }
}

process.on('exit', killAllNow)
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
