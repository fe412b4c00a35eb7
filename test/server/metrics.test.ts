// GET /metrics: Prometheus text whose request counters and latency histograms match, exactly, the
// calls sent (single, batched, failing), with plausible cache counters (exact where the sequence
// makes them so) and cruddur_redis_up following Redis.
import t from 'tap'
import { testApp } from '../helpers/app.js'
import { testBackends } from '../helpers/backends.js'
import { startRedis } from '../helpers/redis-server.js'
import { waitFor } from './cache/cache-utils.js'
import { addUser, dataOf, jsonPost, q, qBatch, type Output } from './trpc/wire.js'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the Prometheus text format (samples only; HELP and TYPE lines are returned apart). */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; help: Set<string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const help = new Set<string>()
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (meta) {
      if (meta[1] === 'TYPE') types.set(meta[2]!, meta[3]!)
      else help.add(meta[2]!)
      continue
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`not Prometheus text: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return { samples, types, help }
}

const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}) => pick(samples, name, labels).reduce((a, s) => a + s.value, 0)

t.test('GET /metrics counts every call by procedure and code', async (t) => {
  const redis = await startRedis(t)
  const backends = await testBackends(t)
  const app = await testApp(t, { backends, redis: { kind: 'single', url: redis.url }, cachePrefix: 'metrics' })
  const [x, y] = [await addUser(app, 'metrics_x'), await addUser(app, 'metrics_y')]
  const [tx, ty] = [await app.token(x.handle), await app.token(y.handle)]
  const expectStatus = async (path: string, init: Parameters<typeof app.call>[1], status: number) => {
    const res = await app.call(path, init)
    t.equal(res.status, status, `${init?.method ?? 'GET'} ${decodeURIComponent(path).slice(0, 70)}: ${status}`)
    return res
  }
  const scrape = async () => {
    const res = await app.call('/metrics')
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/, 'Prometheus text content type')
    return parse(res.body as string)
  }

  for (let i = 0; i < 3; i++) await expectStatus(q('users.me'), { token: tx }, 200)
  for (let i = 0; i < 2; i++) await expectStatus(q('users.short', { handle: y.handle }), { token: tx }, 200)
  await expectStatus(q('users.short', { handle: 'nobody_at_all' }), { token: tx }, 404)
  const created = await expectStatus('/trpc/messages.create', jsonPost({ message: 'm1', handle: y.handle }, tx), 200)
  const g = (dataOf(created) as Output['messages']['create']).messageGroupUuid
  await expectStatus('/trpc/messages.create', jsonPost({ message: 'm2', messageGroupUuid: g }, ty), 200)
  await expectStatus('/trpc/messages.create', jsonPost({ message: '', messageGroupUuid: g }, ty), 400)
  for (let i = 0; i < 2; i++) await expectStatus(q('messageGroups.list'), { token: tx }, 200)
  for (let i = 0; i < 2; i++) await expectStatus(q('messages.list', { messageGroupUuid: g }), { token: tx }, 200)
  await expectStatus(q('messages.list', { messageGroupUuid: '00000000-0000-4000-8000-000000000000' }), { token: tx }, 404)
  // A batch that succeeds: each call counts on its own.
  await expectStatus(qBatch([['users.me'], ['messageGroups.list'], ['users.short', { handle: y.handle }]]), { token: tx }, 200)

  // The cache, exact where the sequence above decides it (lists and pages are never memoized).
  const cache = (await scrape()).samples
  t.equal(sum(cache, 'cruddur_cache_misses_total', { entity: 'groups' }), 1, 'groups: one miss')
  t.equal(sum(cache, 'cruddur_cache_fills_total', { entity: 'groups' }), 1, 'groups: one fill')
  t.equal(sum(cache, 'cruddur_cache_hits_total', { entity: 'groups' }), 2, 'groups: two hits (the second list and the batch)')
  t.equal(sum(cache, 'cruddur_cache_misses_total', { entity: 'messages' }), 1, 'messages: one miss')
  t.equal(sum(cache, 'cruddur_cache_fills_total', { entity: 'messages' }), 1, 'messages: one fill')
  t.equal(sum(cache, 'cruddur_cache_hits_total', { entity: 'messages' }), 1, 'messages: one hit')
  t.equal(sum(cache, 'cruddur_cache_invalidations_total'), 6, 'two messages, three entities each')
  t.equal(sum(cache, 'cruddur_cache_stale_fills_rejected_total'), 0, 'nothing raced')
  t.ok(sum(cache, 'cruddur_cache_hits_total', { entity: 'user' }) >= 3, 'users by handle hit (the second users.short, the create, the batch)')
  t.ok(sum(cache, 'cruddur_cache_fills_total', { entity: 'user' }) >= 2, 'users were filled (two subs, one handle)')
  t.ok(sum(cache, 'cruddur_cache_misses_total', { entity: 'user' }) >= 3, 'users missed first (two subs, one handle, the unknown one)')
  t.equal(sum(cache, 'cruddur_redis_up'), 1, 'cruddur_redis_up 1')
  t.equal(sum(cache, 'cruddur_redis_errors_total'), 0)

  // Failures, batched and not.
  const mixed = await app.call(
    qBatch([['users.me'], ['users.short', { handle: 'nobody_at_all' }], ['messages.list', { messageGroupUuid: '00000000-0000-4000-8000-000000000000' }]]),
    { token: tx },
  )
  t.equal(mixed.status, 207, 'a mixed batch answers 207')
  await expectStatus(q('users.me'), {}, 401)
  await expectStatus(q('messages.list', { messageGroupUuid: g, limit: 0 }), { token: tx }, 400)
  await expectStatus(q('no.such.procedure'), { token: tx }, 404)
  await expectStatus('/trpc/messages.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops', token: tx }, 400)
  await expectStatus(q('messages.create', { message: 'a query?', messageGroupUuid: g }), { token: tx }, 405)

  const { samples, types, help } = await scrape()
  t.equal(types.get('cruddur_trpc_requests_total'), 'counter')
  t.equal(types.get('cruddur_trpc_request_duration_seconds'), 'histogram')
  for (const name of ['cruddur_cache_hits_total', 'cruddur_cache_misses_total', 'cruddur_cache_fills_total', 'cruddur_cache_stale_fills_rejected_total', 'cruddur_cache_invalidations_total', 'cruddur_redis_up']) {
    t.ok(types.has(name) && help.has(name), `${name} is declared`)
  }

  const expected: Record<string, Record<string, number>> = {
    'users.me': { OK: 5, UNAUTHORIZED: 1 },
    'users.short': { OK: 3, NOT_FOUND: 2 },
    // Validation and malformed JSON (parsed when the procedure asks for its input), and a GET of a mutation.
    'messages.create': { OK: 2, BAD_REQUEST: 2, METHOD_NOT_SUPPORTED: 1 },
    'messageGroups.list': { OK: 3 },
    'messages.list': { OK: 2, NOT_FOUND: 2, BAD_REQUEST: 1 },
    // Unknown paths share one label.
    '(unknown)': { NOT_FOUND: 1 },
  }
  /** Calls that failed before their procedure ran: counted, but not timed. */
  const untimed: Record<string, number> = { 'messages.create': 1, '(unknown)': 1 }
  const counted: Record<string, Record<string, number>> = {}
  for (const s of pick(samples, 'cruddur_trpc_requests_total')) {
    ;(counted[s.labels.procedure!] ??= {})[s.labels.code!] = s.value
  }
  t.same(counted, expected, 'cruddur_trpc_requests_total{procedure,code}: exactly the calls sent')

  for (const [procedure, codes] of Object.entries(expected)) {
    const calls = Object.values(codes).reduce((a, n) => a + n, 0) - (untimed[procedure] ?? 0)
    if (calls === 0) {
      t.equal(pick(samples, 'cruddur_trpc_request_duration_seconds_count', { procedure }).length, 0, `${procedure}: not timed`)
      continue
    }
    const name = 'cruddur_trpc_request_duration_seconds'
    t.equal(sum(samples, `${name}_count`, { procedure }), calls, `${procedure}: histogram count ${calls}`)
    const buckets = pick(samples, `${name}_bucket`, { procedure }).map((s) => [s.labels.le!, s.value] as const)
    t.equal(buckets.at(-1)?.[0], '+Inf')
    t.equal(buckets.at(-1)?.[1], calls, `${procedure}: +Inf bucket holds every call`)
    t.ok(buckets.every(([, v], i) => i === 0 || v >= buckets[i - 1]![1]), `${procedure}: buckets are cumulative`)
    const seconds = sum(samples, `${name}_sum`, { procedure })
    t.ok(seconds > 0 && seconds < calls, `${procedure}: sum of latencies plausible (${seconds.toFixed(4)} s)`)
  }

  // Another app in the same process has its own registry.
  const other = await testApp(t, { backends })
  const fresh = parse((await other.call('/metrics')).body as string).samples
  t.equal(sum(fresh, 'cruddur_trpc_requests_total'), 0, 'metrics are per app')

  // Redis down: the gauge says so.
  await redis.kill()
  t.ok(await waitFor(() => app.cache.status() === 'degraded', 3000))
  t.equal(sum((await scrape()).samples, 'cruddur_redis_up'), 0, 'cruddur_redis_up 0 while Redis is down')
  await redis.start()
  t.ok(await waitFor(() => app.cache.status() === 'up', 5000))
  t.equal(sum((await scrape()).samples, 'cruddur_redis_up'), 1, 'and 1 again')
})
