// wrk (Debian's `wrk` package, C and LuaJIT) as the throughput rounds' load generator: with Redis,
// about 14 µs of the other core per request where autocannon alone takes 23–26 (docs/benchmark.md),
// so that on a 2-core machine the one core left to the load generator (and Redis) can saturate the
// server under test. One thread, N keep-alive connections, no pipelining; the requests of a list in
// turn (bench/wrk-requests.lua).
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./wrk-requests.lua', import.meta.url))

export interface WrkRequest {
  method: string
  path: string
  headers: Record<string, string>
}

/** What the bench reads of a round (autocannon's names, so either driver fills it). */
export interface RoundCounts {
  requests: { total: number }
  /** Seconds. */
  duration: number
  errors: number
  non2xx: number
  /** Milliseconds. */
  latency: { p50: number; p97_5: number; p99: number }
}

/** wrk's version line, or undefined when it is not installed. */
export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  if (r.error) return undefined
  return /wrk \S+/.exec(`${r.stdout}${r.stderr}`)?.[0]
}

let dir: string | undefined
const files = new WeakMap<WrkRequest[], string>()
let n = 0

/** The request list as the script reads it, written once per list (into a directory removed at exit). */
function fileOf(requests: WrkRequest[]): string {
  let file = files.get(requests)
  if (!file) {
    if (!dir) {
      const made = (dir = mkdtempSync(join(tmpdir(), 'cm-wrk-')))
      process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    }
    file = join(dir, `requests-${n++}.tsv`)
    const line = (r: WrkRequest) => [r.method, r.path, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`)].join('\t')
    writeFileSync(file, requests.map(line).join('\n') + '\n')
    files.set(requests, file)
  }
  return file
}

/** One round of `durationSec` (whole seconds, as wrk counts them) at `connections` connections. */
export function wrkRound(url: string, requests: WrkRequest[], connections: number, durationSec: number): Promise<RoundCounts> {
  const args = ['-t', '1', '-c', String(connections), '-d', `${Math.max(1, Math.round(durationSec))}s`, '--timeout', '10s', '-s', SCRIPT, url, '--', fileOf(requests)]
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('wrk-json '))
      if (err || !line) {
        reject(new Error(`wrk failed: ${err?.message ?? ''}\n${stdout}${stderr}`))
        return
      }
      const j = JSON.parse(line.slice('wrk-json '.length)) as Record<string, number>
      resolve({
        requests: { total: j.requests! },
        duration: j.durationUs! / 1e6,
        errors: j.connectErrors! + j.readErrors! + j.writeErrors! + j.timeouts!,
        non2xx: j.non2xx!,
        latency: { p50: j.p50!, p97_5: j.p97_5!, p99: j.p99! },
      })
    })
  })
}
