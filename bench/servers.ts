// The processes the bench starts: dynalite, the server instances and the baseline, each a child
// process of its own (one PID each, so its memory and CPU are its own), all killed at the end.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/ports.js'
import { redisPidOn, type Shielded, shield, type ShieldMode } from './shield.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface Child {
  name: string
  pid: number
  url: string
  proc: ChildProcess
  /** Log lines at warn or above (pino level >= 40) the child wrote. */
  warnings(): number
  /** Their text (up to 1000 lines; warningLines().slice(n) holds those after the n-th). */
  warningLines(): string[]
  /** The last output, for error messages. */
  tail(): string
  exited(): boolean
}

const children = new Set<Child>()

/**
 * With two or more CPUs and util-linux's taskset, the servers (and the baseline) run on CPU 0 and
 * everything the bench runs itself (its load generator, dynalite) on the others, so that a req/s
 * figure measures the server, not a server fighting its load generator for a core. `shield` may also
 * raise the bench and a local Redis (at `redisUrl`) ahead of the machine's other tenants, and move
 * those off CPU 0 (./shield.ts).
 */
let pinning: { serverCpus: string; loadCpus: string } | undefined

export type Pinning = { pinned: true; serverCpus: string; loadCpus: string; shielded?: Shielded } | { pinned: false; reason: string }

export function pinLoadGenerator(options: { shield?: ShieldMode; redisUrl?: string } = {}): Pinning {
  const n = cpus().length
  if (n < 2) return { pinned: false, reason: `${n} CPU` }
  const loadCpus = n === 2 ? '1' : `1-${n - 1}`
  // -a: every thread of this process (libuv's pool too).
  const r = spawnSync('taskset', ['-a', '-c', '-p', loadCpus, String(process.pid)], { encoding: 'utf8' })
  if (r.error || r.status !== 0) return { pinned: false, reason: `taskset unavailable: ${r.error?.message ?? r.stderr.trim()}` }
  pinning = { serverCpus: '0', loadCpus }
  const mode = options.shield ?? 'off'
  if (mode === 'off') return { pinned: true, ...pinning }
  const redis = options.redisUrl ? new URL(options.redisUrl) : undefined
  const local = redis && ['127.0.0.1', 'localhost', '[::1]'].includes(redis.hostname)
  return { pinned: true, ...pinning, shielded: shield(mode, pinning.serverCpus, loadCpus, local ? redisPidOn(Number(redis.port || 6379)) : undefined) }
}

type Side = 'server' | 'load'

/** `--cpu-prof` for the servers and the baseline: V8 profiles written into this directory when they exit. */
let profileDir: string | undefined
export const profileServers = (dir: string) => {
  profileDir = dir
}
const profiling = () => (profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])

export function startChild(name: string, args: string[], env: Record<string, string>, port: number, side: Side = 'load'): Child {
  // taskset execs the command: the child keeps its PID (CPU and memory figures stay its own).
  const [command, argv] = pinning
    ? ['taskset', ['-c', side === 'server' ? pinning.serverCpus : pinning.loadCpus, process.execPath, ...args]]
    : [process.execPath, args]
  const proc = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (proc.pid === undefined) throw new Error(`${name}: could not start`)
  let tail = ''
  let warnings = 0
  const warningLines: string[] = []
  let exited = false
  const keep = (chunk: Buffer) => {
    const text = chunk.toString()
    for (const line of text.split('\n')) {
      const level = /"level":(\d+)/.exec(line)
      if (level && Number(level[1]) >= 40) {
        warnings++
        if (warningLines.length < 1000) warningLines.push(line.slice(0, 500))
      }
    }
    tail = (tail + text).slice(-4000)
  }
  proc.stdout.on('data', keep)
  proc.stderr.on('data', keep)
  const child: Child = {
    name,
    pid: proc.pid,
    url: `http://127.0.0.1:${port}`,
    proc,
    warnings: () => warnings,
    warningLines: () => warningLines,
    tail: () => tail,
    exited: () => exited,
  }
  proc.once('exit', () => {
    exited = true
    children.delete(child)
  })
  children.add(child)
  return child
}

/** dynalite as a child process, in memory. */
export async function startDynaliteChild(): Promise<Child> {
  const port = await freePort()
  const child = startChild(
    'dynalite',
    ['node_modules/dynalite/cli.js', '--port', String(port), '--host', '127.0.0.1', '--createTableMs', '0', '--deleteTableMs', '0'],
    {},
    port,
  )
  await waitFor(child, async () => {
    // Any HTTP answer means it listens (dynalite answers 400 to a request without a target).
    await fetch(child.url, { method: 'POST' })
    return true
  })
  return child
}

/** A server instance (`server/main.ts`), on `port` (the same one again, for a restart) or a free one. */
export async function startServer(name: string, env: Record<string, string>, port?: number): Promise<Child> {
  port ??= await freePort()
  const child = startChild('server ' + name, [...profiling(), '--import', 'tsx', 'server/main.ts'], { ...env, PORT: String(port), HOST: '127.0.0.1' }, port, 'server')
  await waitFor(child, async () => {
    const res = await fetch(child.url + '/ready')
    const body = (await res.json()) as { cache?: string }
    // With Redis configured, wait for its connection too, so the first reads can fill the cache.
    return res.status === 200 && (env.CACHE_MODE === 'off' || body.cache === 'up')
  })
  return child
}

export async function startBaseline(env: Record<string, string>): Promise<Child> {
  const port = await freePort()
  const child = startChild('baseline', [...profiling(), '--import', 'tsx', 'bench/baseline-server.ts'], { ...env, PORT: String(port) }, port, 'server')
  await waitFor(child, async () => (await fetch(child.url + '/health')).status === 200)
  return child
}

async function waitFor(child: Child, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (child.exited()) throw new Error(`${child.name} exited during start-up:\n${child.tail()}`)
    try {
      if (await probe()) return
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.tail()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Resident memory of a process in MB (VmRSS), and its peak (VmHWM). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 }
  } catch {
    return null
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return NaN
  }
}
/** Busy and total CPU time of the whole machine so far, in seconds summed over cores (/proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = fields[3]! + fields[4]! // idle + iowait
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS }
  } catch {
    return { busy: NaN, total: NaN }
  }
}

/** USER_HZ: 100 on every Linux the bench runs on. */
const CLOCK_TICKS = 100

/** Stops one child: SIGTERM (graceful close), SIGKILL after `graceMs`. */
export async function stopChild(child: Child, graceMs = 5000): Promise<void> {
  if (child.exited()) return
  const gone = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()))
  child.proc.kill('SIGTERM')
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs)
  await gone
  clearTimeout(timer)
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)))
}

/** Last resort, synchronous (process 'exit'): kill what is left by PID. */
export function killAllNow(): void {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
