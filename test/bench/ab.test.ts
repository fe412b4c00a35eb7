// `npm run bench:ab` end to end, small: variants of one checkout side by side at a fixed rate, each
// with its req/s, CPU a request and tail line, and `:entry=` running another script (a JavaScript
// bundle runs without tsx, as seen in /proc while it runs), and what a server is sent in all: each
// measured slice follows half a second at the rate, unmeasured (counted by a server that only counts).
// Real servers, Redis, PostgreSQL, dynalite.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.setTimeout(240_000)

t.test('variants at a fixed rate, one of them a bundle run without tsx', { timeout: 220_000 }, async (t) => {
  // Inside the checkout, so that the bundle's packages resolve from its node_modules.
  const dir = t.testdir() // once: each call makes the directory afresh
  const bundle = join(dir, 'baseline.mjs')
  const esbuild = spawnSync(join(ROOT, 'node_modules/.bin/esbuild'), ['bench/baseline-server.ts', '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${bundle}`, '--log-level=warning'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(esbuild.status, 0, esbuild.stderr)
  // A server that answers the baseline's requests with `{}` and, when stopped, writes how many came.
  const counter = join(dir, 'counter.mjs')
  const counted = join(dir, 'counted')
  writeFileSync(
    counter,
    `import { createServer } from 'node:http'
import { writeFileSync } from 'node:fs'
let n = 0
createServer((req, res) => {
  if (req.url.startsWith('/baseline/')) n++
  res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
}).listen(Number(process.env.PORT), process.env.HOST)
process.once('SIGTERM', () => {
  writeFileSync(process.env.COUNT_FILE, String(n))
  process.exit(0)
})
`,
  )

  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/ab.ts', '--rate', '800', '--slices', '2', '--slice', '1', 'hits=.', 'route=.:baseline', `js=.:baseline:entry=${bundle}`, `count=.:baseline:entry=${counter}:COUNT_FILE=${counted}`], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGINT')
  })
  let output = ''
  const commandLines = new Map<string, string>()
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    output += c
    // The servers run from the line that names their pids on: read how each was started, while it runs.
    const pids = /pids (.+)$/m.exec(output)?.[1]
    if (pids && commandLines.size === 0) {
      for (const [, name, pid] of pids.matchAll(/(\w+) (\d+)/g)) commandLines.set(name!, readFileSync(`/proc/${pid!}/cmdline`, 'utf8').replaceAll('\0', ' ').trim())
    }
  })
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 0, output)

  t.match(commandLines.get('hits'), /--import tsx server\/main\.ts$/, 'the server, under tsx')
  t.match(commandLines.get('route'), /--import tsx bench\/baseline-server\.ts$/, 'the baseline, under tsx')
  t.ok(commandLines.get('js')?.endsWith(` ${bundle}`), 'the bundle named by :entry=')
  t.equal(commandLines.get('js'), `${process.execPath} ${bundle}`, 'run by node alone, without tsx')

  for (const name of ['hits', 'route', 'js', 'count']) {
    const totals = new RegExp(`^${name} +(\\d+) req/s +([\\d.]+) µs CPU/req`, 'm').exec(output)
    t.ok(totals, `${name}: req/s and CPU a request`)
    t.ok(Math.abs(Number(totals?.[1]) - 800) <= 16, `${name}: at the rate asked (${totals?.[1] ?? '?'}/s)`)
    t.ok(Number(totals?.[2]) > 0, `${name}: its CPU counted`)
    const tail = new RegExp(`^${name} +p50 [\\d.]+ +p99 [\\d.]+ +max [\\d.]+ ms; core \\d+ % busy; p99 under 5 ms in \\d+ of (\\d+) half seconds`, 'm').exec(output)
    t.ok(tail, `${name}: its tail`)
    t.ok(Number(tail?.[1]) >= 4, `${name}: both slices on its timeline`)
  }
  // 2 s of warm-up, then two slices of 1 s, each after 0.5 s at the rate, unmeasured: 5 s at 800/s.
  for (let i = 0; i < 50 && !existsSync(counted); i++) await new Promise((r) => setTimeout(r, 100))
  const sent = Number(readFileSync(counted, 'utf8'))
  t.ok(Math.abs(sent - 4000) <= 80, `each measured slice after half a second at the rate: the server was sent ${sent} requests, 4,000 expected (3,200 without)`)
  t.match(output, /^route .* vs hits: req\/s [\d.]+ \(median of paired slices [\d.]+\), CPU [\d.]+$/m, 'compared with the first variant')
})
