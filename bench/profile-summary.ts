// npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N] [--from S] [--hit-path]
// What a V8 CPU profile's time went to: self time by package (node_modules/<name>), Node's own
// modules, this project's files, garbage collection and idle; then the hottest functions.
// --hit-path: the shares of the cache hit path's parts instead (the table in docs/benchmark.md).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

/**
 * Hit counts per node, from the samples taken `fromSec` or more after the profile began (a bench run
 * profiles start-up and fixtures too; the measured rounds come last).
 */
function hitsFrom(profile: Profile, fromSec: number): Map<number, number> {
  const hits = new Map<number, number>()
  if (!profile.samples || !profile.timeDeltas) {
    for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0)
    return hits
  }
  let t = 0
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0
    if (t < fromSec * 1e6) continue
    const id = profile.samples[i]!
    hits.set(id, (hits.get(id) ?? 0) + 1)
  }
  return hits
}

/** The bucket a frame's self time counts in. */
export function bucketOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith('node:')) return url
  const own = /\/(server|bench|contracts|client)\/(.+)$/.exec(url)
  return own ? `${own[1]}/${own[2]}` : url
}

/** The hit path's parts (docs/benchmark.md's profile table): a self-time frame's part, by its function and bucket. */
const PARTS: [part: string, test: (bucket: string, fn: string) => boolean][] = [
  ['writing to the socket (`writev`, `writeUtf8String`: the kernel\'s send)', (b, fn) => b === '(native)' && (fn === 'writev' || fn === 'writeUtf8String')],
  ['Node\'s HTTP, streams, events, timers, buffers', (b) => b.startsWith('node:')],
  ['ioredis', (b) => b === 'ioredis' || b === 'standard-as-callback' || b === 'denque' || b === 'redis-errors'],
  ['garbage collection', (b) => b === '(garbage collector)'],
  ['Fastify (routing, hooks, reply, query strings)', (b) => /^(fastify|find-my-way|@fastify\/under-pressure|fast-querystring|fast-decode-uri-component|toad-cache|light-my-request|avvio)$/.test(b) || b === 'server/lib/querystring-memo.ts'],
  ['logging (pino, per-request child loggers)', (b) => /^(pino|pino-std-serializers|sonic-boom)$/.test(b) || b === 'server/lib/lazy-child-logger.ts'],
  ['the fast path and the API route', (b) => b === 'server/trpc/fast-path.ts' || b === 'server/trpc/queries.ts' || b === 'server/routes/trpc.ts' || b === 'server/server.ts'],
  ['rate limits', (b) => b.startsWith('server/limits/') || b === '@fastify/rate-limit'],
  ['metrics (prom-client, `metrics.ts`)', (b) => b === 'prom-client' || b === 'server/metrics.ts' || b === 'server/lib/bound-histogram.ts'],
  ['token and user memos, cached reads, redis-cache, zod', (b) => b.startsWith('server/auth/') || b.startsWith('server/cache/') || b === 'zod' || b === 'server/lib/bounded-map.ts'],
  ['other JavaScript and native code', () => true],
]

/** Shares of busy time by the hit path's parts. */
export function hitPathShares(profile: Profile, fromSec = 0): [part: string, share: number][] {
  const counts = hitsFrom(profile, fromSec)
  const shares = new Map<string, number>(PARTS.map(([part]) => [part, 0]))
  let busy = 0
  for (const node of profile.nodes) {
    const hits = counts.get(node.id) ?? 0
    const fn = node.callFrame.functionName
    if (!hits || fn === '(idle)' || fn === '(program)') continue
    busy += hits
    const bucket = bucketOf(node.callFrame.url, fn)
    const part = PARTS.find(([, test]) => test(bucket, fn))![0]
    shares.set(part, shares.get(part)! + hits)
  }
  return [...shares].map(([part, n]) => [part, n / Math.max(1, busy)])
}

export function summarize(profile: Profile, top = 15, fromSec = 0): string {
  const counts = hitsFrom(profile, fromSec)
  const hitsOf = (x: ProfileNode) => counts.get(x.id) ?? 0
  const total = profile.nodes.reduce((n, x) => n + hitsOf(x), 0)
  const busy = total - profile.nodes.filter((x) => x.callFrame.functionName === '(idle)').reduce((n, x) => n + hitsOf(x), 0)
  const buckets = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const node of profile.nodes) {
    const hits = hitsOf(node)
    if (!hits || node.callFrame.functionName === '(idle)') continue
    const bucket = bucketOf(node.callFrame.url, node.callFrame.functionName)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + hits)
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${bucket}:${node.callFrame.lineNumber + 1}`
    functions.set(fn, (functions.get(fn) ?? 0) + hits)
  }
  const pct = (n: number) => `${((100 * n) / Math.max(1, busy)).toFixed(1).padStart(5)} %`
  const rank = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
  return [
    `${((profile.endTime - profile.startTime) / 1e6 - fromSec).toFixed(1)} s profiled${fromSec ? ` (from ${fromSec} s on)` : ''}, busy ${((100 * busy) / Math.max(1, total)).toFixed(0)} % of samples; shares of busy time:`,
    'self time by package / module:',
    ...rank(buckets).map(([b, n]) => `  ${pct(n)}  ${b}`),
    'hottest functions (self time):',
    ...rank(functions).map(([f, n]) => `  ${pct(n)}  ${f}`),
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '15' }, from: { type: 'string', default: '0' }, 'hit-path': { type: 'boolean', default: false } },
  })
  if (!positionals[0]) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N] [--from S] [--hit-path]')
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile
  if (values['hit-path']) for (const [part, share] of hitPathShares(profile, Number(values.from))) console.log(`${(100 * share).toFixed(1).padStart(5)} %  ${part}`)
  else console.log(summarize(profile, Number(values.top), Number(values.from)))
}
