// Keeps the machine's other tenants off the server's core for the length of a run, as pyperf's
// `system tune` and cpuset's `cset shield` do for benchmarks: pinning the server to CPU 0 does not stop
// others from running there. Traced with `perf sched` on this VM (docs/benchmark.md, sixth round):
// RabbitMQ's schedulers (and the BEAM it starts every two minutes), npm's own garbage collector and
// others ran on CPU 0 too, and the server waited behind them for up to 10 ms.
// - Every thread that may run on the server's CPUs, but Redis's, is moved to the load side
//   (sched_setaffinity via util-linux's taskset); threads that refuse (per-CPU kernel threads) stay.
// - The bench itself (and so the servers and the load it starts, which inherit it) and a local Redis
//   run at nice -20, ahead of the tenants left on the load side.
// Everything is put back as it was when the bench exits, however it exits.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

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
  const moved: Array<[tid: number, list: string]> = []
  const processes = new Set<number>()
  for (const pid of mode === 'move' ? ids('/proc') : []) {
    // This process is on the load side already (pinLoadGenerator). Redis stays where the kernel puts
    // it: it is half of every cache hit, the baseline's too, and it answers while the server waits;
    // on the load side with wrk and dynalite it made the load side the bottleneck (run of 08:25 UTC).
    if (pid === process.pid || pid === redisPid) continue
    for (const tid of ids(`/proc/${pid}/task`)) {
      const list = allowed(tid)
      if (!list || !cpuList(list).some((cpu) => server.has(cpu))) continue
      if (setAffinity(tid, loadCpus)) {
        moved.push([tid, list])
        processes.add(pid)
      }
    }
  }
  const raised: Array<[name: string, tids: number[], was: number[]]> = []
  const raise = (name: string, tids: number[]) => {
    const was: number[] = []
    const done: number[] = []
    for (const tid of tids) {
      try {
        was.push(getPriority(tid))
        setPriority(tid, -20)
        done.push(tid)
      } catch {
        was.pop()
      }
    }
    if (done.length) raised.push([name, done, was])
  }
  // This thread: children (servers, dynalite) inherit its nice value; libuv's threads are started already.
  raise('bench', ids(`/proc/${process.pid}/task`))
  if (redisPid) raise('redis-server', ids(`/proc/${redisPid}/task`))

  let undone = false
  const undo = () => {
    if (undone) return
    undone = true
    for (const [tid, list] of moved) setAffinity(tid, list)
    for (const [, tids, was] of raised) tids.forEach((tid, i) => {
      try {
        setPriority(tid, was[i]!)
      } catch {
        // gone, or not ours to lower again
      }
    })
  }
  process.on('exit', undo)
  return { mode, threads: moved.length, processes: processes.size, raised: raised.map(([name]) => name) }
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
