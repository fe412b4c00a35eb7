// No stale reads, statistically: writers posting into a few conversations and many readers at once,
// through two instances sharing the table, Redis and cache prefix (and through one instance with the
// in-process cache). Every read records when it started; a message acknowledged before that must be
// in it (API.md, Guarantees).
import t, { type Test } from 'tap'
import { performance } from 'node:perf_hooks'
import { type TestApp, testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { addUser, dataOf, jsonPost, q, type Output } from '../trpc/wire.js'
import { value } from './cache-utils.js'

const READERS = 12

interface Acked {
  n: number
  uuid: string
  key: string // createdAt#uuid: the order of the conversation
}

/**
 * Writers and readers through `instances` for `durationMs`; asserts that no read missed a message
 * acknowledged before it started. `tag` keeps users apart between runs on one database.
 */
async function noStaleReads(t: Test, instances: TestApp[], tag: string, durationMs: number) {
  const [one] = instances as [TestApp]
  const backends = one.backends
  // Widen the race: a read sometimes holds what DynamoDB answered for a while before it goes on (to
  // fill the cache), as a slow or preempted instance would.
  backends.ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args)
      const page = (args.input as { ScanIndexForward?: boolean }).ScanIndexForward === false // a list read, not the write path's
      if (context.commandName === 'QueryCommand' && page && Math.random() < 0.3) await new Promise((r) => setTimeout(r, Math.random() * 40))
      return out
    },
    { step: 'initialize', name: `slowQueries-${tag}` },
  )
  t.teardown(() => void backends.ddb.middlewareStack.remove(`slowQueries-${tag}`))
  const pick = () => instances[random(instances.length)]!
  const label = (app: TestApp) => instances.indexOf(app) + 1

  // Four users, four conversations; everyone is in two of them, so lists have an order to keep.
  const handles = ['a', 'b', 'c', 'd'].map((s) => `${tag}_${s}`)
  const users = await Promise.all(handles.map((h) => addUser(one, h)))
  const tokens = await Promise.all(handles.map((h) => one.token(h)))
  const pairs: [number, number][] = [[0, 1], [1, 2], [2, 3], [0, 2]]
  const conversations: { g: string; members: [number, number]; acked: Acked[] }[] = []
  for (const [i, j] of pairs) {
    const res = await one.call('/trpc/messages.create', jsonPost({ message: 'c-start', handle: handles[j] }, tokens[i]))
    t.equal(res.status, 200)
    conversations.push({ g: (dataOf(res) as Output['messages']['create']).messageGroupUuid, members: [i, j], acked: [] })
  }
  const ofUser = (u: number) => conversations.filter((c) => c.members.includes(u))

  let stop = false
  const failures: string[] = []
  const stale: string[] = []
  let reads = 0
  let writes = 0

  async function writer(k: number) {
    const c = conversations[k]!
    for (let n = 1; !stop; n++) {
      const sender = c.members[n % 2]!
      const app = pick()
      const res = await app.call('/trpc/messages.create', jsonPost({ message: `c${k}-${n}`, messageGroupUuid: c.g }, tokens[sender]))
      if (res.status !== 200) {
        failures.push(`create ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`)
        continue
      }
      const m = (dataOf(res) as Output['messages']['create']).message
      c.acked.push({ n, uuid: m.uuid, key: `${m.createdAt}#${m.uuid}` })
      writes++
      // Read your write, at once, through the other instance, as the other participant half the time.
      const other = instances[(instances.indexOf(app) + 1) % instances.length]!
      const viewer = c.members[random(2)]!
      const check = Math.random() < 0.5
        ? other.call(q('messages.list', { messageGroupUuid: c.g, limit: 5 }), { token: tokens[viewer] }).then((r) => (dataOf(r) as Output['messages']['list'] | undefined)?.items.at(-1)?.uuid)
        : other.call(q('messageGroups.list', { limit: 20 }), { token: tokens[viewer] }).then(
            (r) => (dataOf(r) as Output['messageGroups']['list'] | undefined)?.items.find((i) => i.uuid === c.g)?.message,
          )
      const seen = await check
      reads++
      if (seen !== m.uuid && seen !== `c${k}-${n}`) stale.push(`writer of ${c.g}: its own message ${n} not seen at once (saw ${seen})`)
      await new Promise((r) => setTimeout(r, random(10)))
    }
  }

  async function reader() {
    while (!stop) {
      const u = random(users.length)
      const app = pick()
      // Everything acknowledged before this read starts, per conversation.
      const mine = ofUser(u)
      const before = new Map(mine.map((c) => [c.g, c.acked.length]))
      const started = performance.now()
      if (Math.random() < 0.5) {
        const c = mine[random(mine.length)]!
        const res = await app.call(q('messages.list', { messageGroupUuid: c.g, limit: 100 }), { token: tokens[u] })
        reads++
        if (res.status !== 200) {
          failures.push(`messages.list ${res.status}`)
          continue
        }
        const items = (dataOf(res) as Output['messages']['list']).items
        const got = new Set(items.map((m) => m.uuid))
        const oldestShown = items.length === 100 ? `${items[0]!.createdAt}#${items[0]!.uuid}` : ''
        const must = c.acked.slice(0, before.get(c.g)).filter((m) => m.key >= oldestShown)
        const missing = must.filter((m) => !got.has(m.uuid))
        if (missing.length) stale.push(`messages.list of ${c.g} via ${label(app)} at ${started.toFixed(1)}: misses ${missing.map((m) => m.n).join(',')}`)
      } else {
        const res = await app.call(q('messageGroups.list', { limit: 20 }), { token: tokens[u] })
        reads++
        if (res.status !== 200) {
          failures.push(`messageGroups.list ${res.status}`)
          continue
        }
        const items = (dataOf(res) as Output['messageGroups']['list']).items
        for (const c of mine) {
          const entries = items.filter((i) => i.uuid === c.g)
          if (entries.length !== 1) {
            stale.push(`messageGroups.list: ${c.g} appears ${entries.length} times`)
            continue
          }
          const count = before.get(c.g)!
          const latest = count ? c.acked[count - 1]!.n : 0
          const shown = entries[0]!.message === 'c-start' ? 0 : Number(entries[0]!.message.split('-')[1])
          if (shown < latest) stale.push(`messageGroups.list of user ${u} via ${label(app)}: ${c.g} shows ${shown}, ${latest} was acknowledged`)
        }
        const times = items.map((i) => i.createdAt)
        if (times.join() !== [...times].sort().reverse().join()) stale.push('messageGroups.list: not newest first')
      }
    }
  }

  // At least durationMs; longer (bounded) on a busy machine, until enough writes raced the readers.
  const minWrites = 30
  const began = Date.now()
  const clock = setInterval(() => {
    const elapsed = Date.now() - began
    if ((elapsed >= durationMs && writes >= minWrites) || elapsed >= 3 * durationMs) stop = true
  }, 50)
  await Promise.all([...conversations.map((_, k) => writer(k)), ...Array.from({ length: READERS }, () => reader())])
  clearInterval(clock)

  t.same(failures, [], 'no request failed')
  t.same(stale.slice(0, 10), [], `no stale read (of ${reads} reads while ${writes} messages were written)`)
  t.equal(stale.length, 0)
  t.ok(reads >= 100, `enough reads to mean something: ${reads}`)
  t.ok(writes >= 10, `enough writes: ${writes}`)
  for (const [i, app] of instances.entries()) {
    const hits = await value(app.metrics.cacheHits)
    t.ok(hits > 0, `${app.cache.kind} instance ${i + 1} served from the cache (${hits} hits, ${await value(app.metrics.cacheMisses)} misses, ` +
      `${await value(app.metrics.cacheStaleFillsRejected)} stale fills refused, ${await value(app.metrics.redisErrors)} Redis errors)`)
  }

  // Afterwards, through either instance: each conversation shows all its messages, the last one last.
  for (const c of conversations) {
    for (const app of instances) {
      const res = await app.call(q('messages.list', { messageGroupUuid: c.g, limit: 100 }), { token: tokens[c.members[0]] })
      const items = (dataOf(res) as Output['messages']['list']).items
      t.equal(items.at(-1)?.uuid, c.acked.at(-1)?.uuid, 'the last acknowledged message is the last one shown')
    }
  }
}

const random = (n: number) => Math.floor(Math.random() * n)

t.test('two instances on one Redis under concurrent writes and reads: no read misses an acknowledged message', async (t) => {
  const redis = await startRedis(t)
  const backends = await testBackends(t)
  const options = { backends, redis: { kind: 'single' as const, url: redis.url }, cachePrefix: 'load' }
  const one = await testApp(t, options)
  const two = await testApp(t, { ...options, key: one.key })
  await noStaleReads(t, [one, two], 'two', 3000)
})

t.test('one instance with the in-process cache: no read misses an acknowledged message', async (t) => {
  const app = await testApp(t)
  await noStaleReads(t, [app], 'mem', 1500)
})
