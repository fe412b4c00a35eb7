// `--shield nice|move`: the machine's other tenants kept from the server's core for a run, as pyperf's
// `system tune` and `cset shield` do for benchmarks, since pinning the server to CPU 0 does not stop
// others from running there. `perf sched` on this VM (docs/benchmark.md, sixth round) caught RabbitMQ's
// schedulers, npm's own garbage collector and others on CPU 0, the server waiting behind them.
// - nice: the bench itself (and so the servers and the load it starts, which inherit it) and a local
//   Redis run at nice -20, ahead of the tenants.
// - move: that, and every thread that may run on the server's CPUs, but Redis's, moved to the load
//   side (sched_setaffinity via util-linux's taskset; per-CPU kernel threads refuse and stay). Redis
//   stays free to run on either core: it is half of every cache hit and answers while the server waits.
// Off by default: with two cores, what leaves CPU 0 lands on the load generator's, and neither mode
// shortened the tail there. Everything is put back when the bench ends, however it ends (a watcher).
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { getPriority, setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'

/** off: nothing; nice: the bench and Redis at nice -20; move: that, and the others' threads off the server's CPUs. */
export type ShieldMode = 'off' | 'nice' | 'move'
export const SHIELD_MODES: readonly ShieldMode[] = ['off', 'nice', 'move']

export interface Shielded {
  mode: Exclude<ShieldMode, 'off'>
  /** Threads moved off the server's CPUs (of how many processes). */
  threads: number
  processes: number
  /** Processes raised to nice -20 by name (the bench itself, Redis). */
  raised: string[]
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
const ids = (dir: string): number[] => {
  try {
    return readdirSync(dir).filter((d) => /^\d+$/.test(d)).map(Number)
  } catch {
    return []
  }
}
/** The CPUs a thread may run on, e.g. `0-1`. */
const allowed = (tid: number) => /^Cpus_allowed_list:\s*(\S+)/m.exec(read(`/proc/${tid}/status`) ?? '')?.[1]
/** `0-2,5` → [0, 1, 2, 5] */
const cpuList = (list: string): number[] =>
  list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined]
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i)
  })
const setAffinity = (tid: number, list: string) => spawnSync('taskset', ['-p', '-c', list, String(tid)], { stdio: 'ignore' }).status === 0
const niceOf = (tid: number): number | undefined => {
  try {
    return getPriority(tid)
  } catch {
    return undefined
  }
}

/**
 * A detached shell (its own session: Ctrl-C does not reach it) that waits for this process to end,
 * however it ends, then runs `commands` (each tolerated to fail: a thread may be gone) and removes itself.
 */
function watchToRestore(commands: string[]): void {
  if (!commands.length) return
  const file = join(tmpdir(), `cm-bench-shield-${process.pid}.sh`)
  const lines = [`while kill -0 ${process.pid} 2>/dev/null; do sleep 0.2; done`, ...commands.map((c) => `${c} >/dev/null 2>&1`), `rm -f '${file}'`]
  writeFileSync(file, lines.join('\n') + '\n')
  spawn('sh', [file], { detached: true, stdio: 'ignore' }).unref()
}

/** The local redis-server listening on `port` (its process title names the port), if there is one. */
export function redisPidOn(port: number): number | undefined {
  return ids('/proc').find((pid) => read(`/proc/${pid}/comm`)?.trim() === 'redis-server' && (read(`/proc/${pid}/cmdline`) ?? '').includes(`:${port}`))
}

/**
 * Raises this process and Redis (`redisPid`, when it runs here) to nice -20 and, with `move`, moves every
 * other thread but Redis's off `serverCpus` onto `loadCpus`. Returns what it did; undoes it at exit.
 */
export function shield(mode: Exclude<ShieldMode, 'off'>, serverCpus: string, loadCpus: string, redisPid?: number): Shielded {
  const server = new Set(cpuList(serverCpus))
  // What will change, with what it was: planned first, so that a watcher can put it back whatever
  // happens to this process (a kill from a parent that Ctrl-C reached first, SIGKILL).
  const toMove: Array<[pid: number, tid: number, list: string]> = []
  for (const pid of mode === 'move' ? ids('/proc') : []) {
    // This process is on the load side already (pinLoadGenerator); Redis stays (above).
    if (pid === process.pid || pid === redisPid) continue
    for (const tid of ids(`/proc/${pid}/task`)) {
      const list = allowed(tid)
      if (list && cpuList(list).some((cpu) => server.has(cpu))) toMove.push([pid, tid, list])
    }
  }
  const redisThreads = redisPid ? ids(`/proc/${redisPid}/task`).map((tid) => [tid, niceOf(tid)] as const).filter(([, was]) => was !== undefined) : []
  watchToRestore(toMove.map(([, tid, list]) => `taskset -p -c ${list} ${tid}`).concat(redisThreads.map(([tid, was]) => `renice -n ${was} -p ${tid}`)))

  const moved = toMove.filter(([, tid]) => setAffinity(tid, loadCpus))
  const raised: string[] = []
  const raise = (name: string, tids: number[]) => {
    let any = false
    for (const tid of tids) {
      try {
        setPriority(tid, -20)
        any = true
      } catch {
        // gone, or not allowed
      }
    }
    if (any) raised.push(name)
  }
  // This thread: children (servers, dynalite) inherit its nice value; libuv's threads are started already.
  raise('bench', ids(`/proc/${process.pid}/task`))
  raise('redis-server', redisThreads.map(([tid]) => tid))

  // At once when this process exits normally; the watcher does it again (the same values) either way.
  process.on('exit', () => {
    for (const [, tid, list] of moved) setAffinity(tid, list)
    for (const [tid, was] of redisThreads) {
      try {
        setPriority(tid, was!)
      } catch {
        // gone
      }
    }
  })
  return { mode, threads: moved.length, processes: new Set(moved.map(([pid]) => pid)).size, raised }
}

/** `--shield`'s value, or exits with the usage. */
export function shieldMode(value: string): ShieldMode {
  if ((SHIELD_MODES as readonly string[]).includes(value)) return value as ShieldMode
  console.error(`--shield: one of ${SHIELD_MODES.join(', ')} (got ${JSON.stringify(value)})`)
  process.exit(2)
}

/** What a run's shield did, in words. */
export function shieldLine(s: Shielded | undefined, serverCpus: string, loadCpus: string): string {
  if (!s) return `CPU ${serverCpus} not shielded`
  const raised = `${s.raised.join(' and ')} at nice -20`
  return s.mode === 'nice' ? raised : `CPU ${serverCpus} shielded: ${s.threads} threads of ${s.processes} other processes moved to CPU ${loadCpus} for the run, ${raised}`
}
