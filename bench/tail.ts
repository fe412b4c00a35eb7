// npm run bench:tail -- [--rate 20000] [--seconds 8] [--rounds 2] [--connections 50] [--gc] [--floor] [--node-flags "..."] [--shield off|nice|move] [--pacing precise|timer] [checkout]
// The latency tail of the bare baseline (a checkout's bench/baseline-server.ts, this one by default)
// under one steady open loop, with nothing else running: the baseline pinned to CPU 0, this process
// (the bench's open loop, bench/load.ts) to CPU 1, a warm-up, then `--rounds` rounds of `--seconds`.
// Prints each round's percentiles from when each request was due, from its send, the client's send
// lag, and the p99 of each half second. --gc runs the baseline with --trace-gc and sums up its
// collections (how many, the longest pauses): what told a slow tail from the machine's (fourth round
// of docs/benchmark.md). --node-flags passes V8 / Node flags to the baseline (e.g. --single-threaded-gc).
// --floor also runs nginx (./nginx-floor.ts) on the same core with the same bytes and no Redis, each
// round right after the baseline's: the tail of a server that does nothing, the machine's and the load's.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { freePort } from '../test/helpers/ports.js'
import { HttpDriver, type Op } from './http-driver.js'
import { openLoop } from './load.js'
import { closePacing, pacingLine, pacingOf } from './pacing.js'
import type { Percentiles, RoundResult } from './tally.js'
import { type Floor, findNginx, startNginxFloor } from './nginx-floor.js'
import { pinLoadGenerator } from './servers.js'
import { shieldLine, shieldMode } from './shield.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    gc: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    shield: { type: 'string', default: 'off' },
    pacing: { type: 'string', default: 'precise' },
  },
})
const pacing = pacingOf(values.pacing)
const dir = resolve(positionals[0] ?? '.')
const [rate, seconds, rounds, connections] = [values.rate, values.seconds, values.rounds, values.connections].map(Number) as [number, number, number, number]
if (!existsSync(join(dir, 'bench', 'baseline-server.ts')) || ![rate, seconds, rounds, connections].every((n) => n > 0)) {
  console.error('usage: npm run bench:tail -- [--rate N] [--seconds S] [--rounds N] [--connections N] [--gc] [--floor] [--node-flags "..."] [--shield off|nice|move] [--pacing precise|timer] [checkout]')
  process.exit(2)
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const pinned = pinLoadGenerator({ shield: shieldMode(values.shield), redisUrl })
const redis = new Redis(redisUrl)
const prefix = `cmtail_${randomBytes(4).toString('hex')}:`
// About a user's conversation list as server A answers it (five conversations).
const item = (i: number) => ({ uuid: randomBytes(16).toString('hex'), displayName: `User ${i}`, handle: `user_${i}`, message: 'a message of an ordinary length, as people write them', createdAt: new Date().toISOString() })
const body = JSON.stringify([{ result: { data: { items: Array.from({ length: 5 }, (_, i) => item(i)), nextCursor: null } } }])
await redis.set(`${prefix}k`, body)

const port = await freePort()
const flags = [...values['node-flags'].split(' ').filter(Boolean), ...(values.gc ? ['--trace-gc'] : [])]
const argv = [process.execPath, ...flags, '--import', 'tsx', 'bench/baseline-server.ts']
const [command, ...args] = pinned.pinned ? ['taskset', '-c', pinned.serverCpus, ...argv] : argv
const child = spawn(command!, args, {
  cwd: dir,
  env: { ...process.env, NODE_ENV: 'production', PORT: String(port), REDIS_URL: redisUrl, BASELINE_PREFIX: prefix },
  stdio: ['ignore', 'pipe', 'inherit'],
})
/** --trace-gc lines: `... Scavenge ... MB, 0.52 / 0.00 ms ...` (the pause, then its background part). */
const pauses = { scavenge: [] as number[], markCompact: [] as number[] }
let counting = false
child.stdout.setEncoding('utf8').on('data', (text: string) => {
  for (const line of text.split('\n')) {
    const m = /(Scavenge|Mark-Compact)[^,]*MB, ([\d.]+) \//.exec(line)
    if (m && counting) (m[1] === 'Scavenge' ? pauses.scavenge : pauses.markCompact).push(Number(m[2]))
  }
})
const url = `http://127.0.0.1:${port}`
const driver = new HttpDriver(connections)
let floor: Floor | undefined
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error('the baseline did not start')
    await new Promise((r) => setTimeout(r, 100))
  }
  const op: Op = { method: 'GET', url, path: '/baseline/k', headers: {} }
  await openLoop(driver, { rate, durationSec: 3, pacing, next: () => op }) // warm-up
  let floorOp: Op | undefined
  if (values.floor) {
    const nginx = findNginx()
    if (nginx) {
      floor = await startNginxFloor({ nginx: nginx.path, port: await freePort(), path: '/floor/k', body, cpus: pinned.pinned ? pinned.serverCpus : undefined })
      floorOp = { method: 'GET', url: floor.url, path: '/floor/k', headers: {} }
      await openLoop(driver, { rate, durationSec: 3, pacing, next: () => floorOp! }) // warm-up
    } else console.log('--floor: nginx not found (apt-get install nginx-light); the floor is not measured')
  }
  const f = (p: Percentiles) => `p50 ${p.p50.toFixed(1)}  p90 ${p.p90.toFixed(1)}  p99 ${p.p99.toFixed(1)}  max ${p.max.toFixed(1)}`
  const under5 = (r: RoundResult) => `${r.timeline!.filter((t) => t.p99 < 5).length} of ${r.timeline!.length} under 5 ms`
  const print = (name: string, began: Date, r: RoundResult) => {
    console.log(`${name} (${began.toISOString().slice(11, 23)}): ${r.rps.toFixed(0)}/s, ${r.errors} errors | from due: ${f(r.latency)} | from send: ${f(r.latencyFromSend!)} | send lag: ${f(r.sendLag!)}`)
    console.log(`  p99 by half second (${under5(r)}): ${r.timeline!.map((t) => t.p99.toFixed(0)).join(' ')}`)
  }
  console.log(`baseline of ${dir}${flags.length ? ` with ${flags.join(' ')}` : ''}${floor ? ` and the nginx floor (pid ${floor.pid})` : ''}, ${pinned.pinned ? `pinned to CPU 0 (this load on CPU 1), ${shieldLine(pinned.shielded, pinned.serverCpus, pinned.loadCpus)}` : `not pinned (${pinned.reason})`}; open loop at ${rate}/s over ${connections} connections, ${pacingLine(pacing)}, ms:`)
  for (let i = 0; i < rounds; i++) {
    counting = true
    pauses.scavenge = []
    pauses.markCompact = []
    const began = new Date()
    const r = await openLoop(driver, { rate, durationSec: seconds, pacing, next: () => op })
    counting = false
    print(`round ${i + 1}`, began, r)
    if (floorOp) {
      const at = new Date()
      print(`  floor (nginx)`, at, await openLoop(driver, { rate, durationSec: seconds, pacing, next: () => floorOp }))
    }
    if (values.gc) {
      const top = (xs: number[]) => [...xs].sort((a, b) => b - a).slice(0, 3).map((x) => x.toFixed(1)).join(', ')
      console.log(`  garbage collection: ${pauses.scavenge.length} scavenges (longest ${top(pauses.scavenge)} ms), ${pauses.markCompact.length} mark-compacts (longest ${top(pauses.markCompact)} ms)`)
    }
  }
} finally {
  await closePacing()
  driver.close()
  floor?.stop()
  child.kill()
  await redis.del(`${prefix}k`)
  redis.disconnect()
}
