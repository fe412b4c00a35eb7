// npm run bench [-- --duration 10 --slices 5 --warmup 1 --connections 50 --connection-counts 10,50 --scenarios a,b,c,d,e]
// Starts its own backends and servers (child processes), writes fixtures, runs the scenarios,
// prints a table and writes bench/results/<timestamp>.json, latest.json, docs/bench-latest.json and
// docs/bench-latency.svg. See docs/benchmark.md.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { CLIENT_ID, createConversations, createDatabase, createMessageTable, createSigning, createUsers, POOL_ID } from './fixtures.js'
import type { BenchDatabase, Signing } from './fixtures.js'
import { HttpDriver } from './http-driver.js'
import { type Pacing, pacingOf } from './pacing.js'
import { type Floor, findNginx, startNginxFloor } from './nginx-floor.js'
import { publish } from './publish.js'
import { type BenchResults, complete, machine, ratios, table, writeResults } from './report.js'
import { scenarioC } from './mixed.js'
import { GROUPS_PATH } from './requests.js'
import type { ScenarioResult } from './scenario-result.js'
import { type BenchOptions, type Env, type GetScenario, runGetScenarios, stopCurrent } from './scenarios.js'
import { quietNodeVersionWarning } from '../server/lib/process.js'
import { scenarioE } from './realtime.js'
import { shieldMode } from './shield.js'
import { killAllNow, type Pinning, pinLoadGenerator, profileServers, ROOT, startBaseline, startDynaliteChild, startServer, stopAll, stopChild } from './servers.js'
import { wrkVersion } from './wrk.js'
import { freePort } from '../test/helpers/ports.js'

const USAGE = `usage: npm run bench -- [--duration S] [--slices N] [--warmup S] [--connections N] [--connection-counts N,N] [--scenarios a,b,c,d,e] [--rt-rate N]
       [--users N] [--conversations N] [--messages N] [--latency-load F] [--latency-driver open-loop|autocannon] [--pacing precise|timer]
       [--throughput-driver wrk|autocannon] [--no-multi] [--shield off|nice|move] [--cpu-prof DIR]
       [--only a-groups,d-baseline,...] (only these GET scenarios: to profile one)
       [--out DIR] (the results there instead of bench/results; docs/ left as they are)`

function options(): { bench: BenchOptions; out: string | undefined } {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      slices: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      'connection-counts': { type: 'string', default: '10,50' },
      scenarios: { type: 'string', default: 'a,b,c,d,e' },
      'rt-rate': { type: 'string', default: '20' },
      users: { type: 'string', default: '200' },
      conversations: { type: 'string', default: '400' },
      messages: { type: 'string', default: '3' },
      'latency-load': { type: 'string', default: '0.5' },
      'latency-driver': { type: 'string', default: 'open-loop' },
      pacing: { type: 'string', default: 'precise' },
      'throughput-driver': { type: 'string' },
      'no-multi': { type: 'boolean', default: false },
      shield: { type: 'string', default: 'off' },
      'cpu-prof': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const num = (name: string, v: string, min: number, max = Infinity) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`--${name}: expected a number from ${min}${max < Infinity ? ` to ${max}` : ''} (got ${JSON.stringify(v)})\n${USAGE}`)
      process.exit(2)
    }
    return n
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
  if (!scenarios.length || scenarios.some((s) => !['a', 'b', 'c', 'd', 'e'].includes(s))) {
    console.error(`--scenarios: a comma-separated subset of a,b,c,d,e (got ${JSON.stringify(values.scenarios)})\n${USAGE}`)
    process.exit(2)
  }
  const driver = values['latency-driver']
  if (driver !== 'open-loop' && driver !== 'autocannon') {
    console.error(`--latency-driver: open-loop or autocannon (got ${JSON.stringify(driver)})\n${USAGE}`)
    process.exit(2)
  }
  // wrk when it is installed (apt-get install wrk): autocannon costs the load generator's core 23–26 µs a request.
  const wrk = wrkVersion()
  const throughputDriver = values['throughput-driver'] ?? (wrk ? 'wrk' : 'autocannon')
  if (throughputDriver !== 'wrk' && throughputDriver !== 'autocannon') {
    console.error(`--throughput-driver: wrk or autocannon (got ${JSON.stringify(throughputDriver)})\n${USAGE}`)
    process.exit(2)
  }
  if (throughputDriver === 'wrk' && !wrk) {
    console.error('--throughput-driver wrk: wrk is not installed (apt-get install wrk)')
    process.exit(2)
  }
  let pacing: Pacing
  try {
    pacing = pacingOf(values.pacing)
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
  if (values['cpu-prof']) profileServers(values['cpu-prof'])
  const bench: BenchOptions = {
    durationSec: num('duration', values.duration, 1),
    slices: Math.round(num('slices', values.slices, 1, 100)),
    warmupSec: num('warmup', values.warmup, 1),
    connections: Math.round(num('connections', values.connections, 1, 1000)),
    connectionCounts: values['connection-counts'].split(',').map((c) => Math.round(num('connection-counts', c.trim(), 1, 1000))),
    scenarios,
    users: Math.round(num('users', values.users, 2)),
    conversations: Math.round(num('conversations', values.conversations, 1)),
    messagesEach: Math.round(num('messages', values.messages, 1, 100)),
    latencyLoad: num('latency-load', values['latency-load'], 0.01, 1),
    latencyDriver: driver,
    pacing,
    throughputDriver,
    multiInstance: !values['no-multi'],
    shield: shieldMode(values.shield),
    realtimeRate: num('rt-rate', values['rt-rate'], 1, 1000),
    only: values.only?.split(',').map((s) => s.trim()),
  }
  return { bench, out: values.out }
}

quietNodeVersionWarning() // the AWS SDK's notice about Node 22, as the server silences it

const began = performance.now()
const log = (line: string) => console.log(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(5)}s] ${line}`)

async function main() {
  const { bench: opts, out } = options()
  const startedAt = new Date()
  const t0 = performance.now()
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const host = { ...machine(), pinning: pinLoadGenerator({ shield: opts.shield, redisUrl }) } // the load average before the bench adds its own
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const prefix = `cmbench_${Math.random().toString(36).slice(2, 10)}`
  const metricsToken = crypto.randomUUID()
  const ddbTable = 'cruddur-messages'
  const abort = new AbortController()
  const driver = new HttpDriver(opts.connections)

  let db: BenchDatabase | undefined
  let signing: Signing | undefined
  let redis: Redis | undefined
  let cleaning: Promise<void> | undefined
  const cleanup = () =>
    (cleaning ??= (async () => {
      driver.close()
      await stopAll().catch((err: unknown) => console.error('[bench] stopping children:', err))
      await db?.drop().catch((err: unknown) => console.error(`[bench] dropping ${db?.name}:`, err))
      if (redis) {
        await deleteKeys(redis, `${prefix}:*`).catch((err: unknown) => console.error('[bench] deleting Redis keys:', err))
        redis.disconnect()
      }
      await signing?.cleanup().catch(() => {})
    })())
  process.on('exit', killAllNow)
  // Output piped into a pager or `head` that exits must not end the run before it cleaned up.
  process.stdout.on('error', () => {})
  process.stderr.on('error', () => {})
  const fail = (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    abort.abort()
    stopCurrent()
    void cleanup().finally(() => process.exit(1))
  }
  process.on('uncaughtException', fail)
  process.on('unhandledRejection', fail)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n[bench] ${sig}: stopping`)
      abort.abort()
      stopCurrent()
      void cleanup().finally(() => process.exit(130))
    })
  }

  try {
    if (opts.scenarios.includes('b') && !(await readFile(join(ROOT, 'server', 'config.ts'), 'utf8')).includes('CACHE_MODE')) {
      log('CACHE_MODE is not in server/config.ts yet: scenario b skipped')
      opts.scenarios = opts.scenarios.filter((s) => s !== 'b')
    }
    redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true })
    await redis.connect()
    log(`backends: dynalite child, PostgreSQL ${new URL(adminUrl).host}, Redis ${new URL(redisUrl).host} (prefix ${prefix})`)
    // Assigned as each settles, so that cleanup finds whatever was made if another one fails.
    const [dynalite] = await Promise.all([
      startDynaliteChild().then(async (d) => {
        await createMessageTable(d.url, ddbTable)
        return d
      }),
      createDatabase(adminUrl).then((d) => (db = d)),
      createSigning().then((k) => (signing = k)),
    ])
    if (!db || !signing) throw new Error('unreachable: backends not set up')

    const common: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.url,
      DDB_MESSAGE_TABLE: ddbTable,
      COGNITO_USER_POOL_ID: POOL_ID,
      COGNITO_CLIENT_ID: CLIENT_ID,
      COGNITO_JWKS_FILE: signing.jwksFile,
      CACHE_KEY_PREFIX: prefix,
      CACHE_MODE: 'auto',
      METRICS_TOKEN: metricsToken,
      // One client address and a few hundred users send thousands of requests a second: the limits
      // stay on (their cost is measured) but far above what the load sends.
      RATE_LIMIT_READS_PER_MINUTE: '1000000000',
      RATE_LIMIT_WRITES_PER_MINUTE: '1000000000',
      RATE_LIMIT_ADDRESS_PER_MINUTE: '1000000000',
      RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: '1000000000',
    }
    const wantsMulti = opts.scenarios.includes('c') && opts.multiInstance
    log(`servers: A (cache)${opts.scenarios.includes('b') ? ', B (CACHE_MODE=off)' : ''}${wantsMulti ? ', A2 (cache, same Redis)' : ''}${opts.scenarios.includes('d') ? ', baseline' : ''}`)
    const [fixturesA, B, A2, D] = await Promise.all([
      startServer('A', common),
      opts.scenarios.includes('b') ? startServer('B', { ...common, CACHE_MODE: 'off' }) : undefined,
      wantsMulti ? startServer('A2', common) : undefined,
      opts.scenarios.includes('d') ? startBaseline({ REDIS_URL: redisUrl, BASELINE_PREFIX: `${prefix}:baseline:` }) : undefined,
    ])

    const f0 = performance.now()
    const users = await createUsers(db.sql, signing, opts.users)
    const conversations = await createConversations(driver, fixturesA.url, users, opts.conversations, opts.messagesEach, 32)
    const fixtureSec = (performance.now() - f0) / 1000
    log(`fixtures: ${users.length} users, ${conversations.length} conversations × ${opts.messagesEach} messages in ${fixtureSec.toFixed(1)} s`)
    // A starts the measured rounds fresh, as the baseline does: the fixtures' writes left ~115 MB of
    // garbage in its old generation that V8 collected only ~100 s into the rounds, with scavenges up to
    // twice as long until then (docs/benchmark.md, fourth round).
    await stopChild(fixturesA)
    const A = await startServer('A', common, Number(new URL(fixturesA.url).port))
    log('server A restarted after the fixtures')

    const env: Env = {
      options: opts,
      metricsToken,
      driver,
      users,
      conversations,
      dynalite,
      A,
      B: B ?? A,
      ...(A2 ? { A2 } : {}),
      ...(D ? { D } : {}),
      signal: abort.signal,
      log,
      cacheWarm: false,
      async prepareBaseline(bodies) {
        const pipeline = redis!.pipeline()
        bodies.forEach((body, i) => pipeline.set(`${prefix}:baseline:${i}`, body, 'EX', 3600))
        await pipeline.exec()
      },
    }
    const scenarios: ScenarioResult[] = []
    // The read-only scenarios first (the mixed load's writes change what they read), their rounds
    // interleaved so that their ratios compare the same moments of this shared machine.
    const order: GetScenario[] = ['a-groups', 'd-baseline', 'a-groups-plain', 'a-messages', 'b-groups', 'b-messages']
    const gets = order.filter((id) => opts.scenarios.includes(id[0]!) && (!opts.only || opts.only.includes(id)))
    let floor: BenchResults['floor']
    if (gets.length) {
      const floorUp = gets.includes('d-baseline') ? await startFloor(env, host.pinning) : undefined
      if (floorUp && 'missing' in floorUp) floor = floorUp
      else if (floorUp) env.floor = floorUp
      try {
        const got = await runGetScenarios(env, gets)
        scenarios.push(...got.scenarios)
        if (got.floor && floorUp && !('missing' in floorUp)) floor = { server: floorUp.server, latency: got.floor }
      } finally {
        if (floorUp && 'stop' in floorUp) floorUp.stop()
      }
    }
    if (opts.scenarios.includes('c') && !abort.signal.aborted) {
      scenarios.push(await scenarioC(env, [A], 'c-mixed', 'mixed, server A'))
      if (A2) scenarios.push(await scenarioC(env, [A, A2], 'c-mixed-2x', 'mixed, servers A and A2'))
    }
    const realtime =
      opts.scenarios.includes('e') && !abort.signal.aborted
        ? await scenarioE(env, common, metricsToken, { rate: opts.realtimeRate, deliverySec: Math.max(10, opts.durationSec * 2) })
        : undefined
    if (abort.signal.aborted) return

    const results: BenchResults = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      totalSec: (performance.now() - t0) / 1000,
      machine: host,
      options: opts,
      fixtures: { users: users.length, conversations: conversations.length, messagesEach: opts.messagesEach, seconds: fixtureSec },
      scenarios,
      ratios: ratios(scenarios),
      ...(realtime ? { realtime } : {}),
      ...(floor ? { floor } : {}),
    }
    const written = await writeResults(results, out)
    // A run written elsewhere (a test's, say) is not the one docs/ shows.
    const published = complete(results) && !out ? await publish(results) : []
    console.log('\n' + table(results) + '\n')
    log(`wrote ${[written.file, written.latest, ...published].join(', ')}`)
    if (!published.length) log(`${out ? 'written to --out' : 'a partial run'}: docs/ left as they are (npx tsx bench/publish.ts publishes a results file)`)
  } finally {
    await cleanup()
  }
}

/**
 * nginx on the servers' CPUs answering user 0's conversation list as server A sends it, from memory
 * (bench/nginx-floor.ts); or why not.
 */
async function startFloor(env: Env, pinning: Pinning): Promise<(Floor & { server: string; path: string }) | { missing: string } | undefined> {
  const nginx = findNginx()
  if (!nginx) return { missing: 'nginx is not installed (apt-get install nginx-light)' }
  const user = env.users[0]
  if (!user) return undefined
  const body = (await env.driver.send({ method: 'GET', url: env.A.url, path: GROUPS_PATH, headers: { authorization: user.authorization } })).body
  const path = '/floor/groups'
  const floor = await startNginxFloor({ nginx: nginx.path, port: await freePort(), path, body, ...(pinning.pinned ? { cpus: pinning.serverCpus } : {}) })
  env.log(`floor: ${nginx.version} (pid ${floor.pid}) answering ${body.length} bytes from memory`)
  return { ...floor, path, server: nginx.version }
}

/** Deletes the keys matching `pattern` (SCAN, never KEYS). */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    if (keys.length) await redis.del(...keys)
  } while (cursor !== '0')
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exit(1)
  },
)
