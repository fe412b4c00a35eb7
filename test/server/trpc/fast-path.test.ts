// The fast path must be indistinguishable from the tRPC adapter: same status, headers that matter
// and body, for every query and error case. Two apps on the same backends, one with it, one without.
import { Agent, request } from 'node:http'
import t from 'tap'
import { createClient } from '@cruddur/client'
import { appRouter } from '../../../server/trpc/router.js'
import { queries } from '../../../server/trpc/queries.js'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'

const q = (input: unknown) => `input=${encodeURIComponent(JSON.stringify(input))}`

t.test('fast path answers exactly as the adapter does', async (t) => {
  const backends = await testBackends(t)
  const fast = await testApp(t, { backends })
  const slow = await testApp(t, { backends, fastPath: false, key: fast.key })
  const brown = await fast.token('andrewbrown')
  const londo = await fast.token('londo')
  const expired = await fast.token('andrewbrown', { ttlSeconds: -60 })

  const client = createClient({ url: fast.url, token: brown })
  const first = await client.messages.create.mutate({ handle: 'bayko', message: 'hello "quoted" \u00e9 \n line' })
  const g = first.messageGroupUuid
  for (let i = 0; i < 25; i++) await client.messages.create.mutate({ messageGroupUuid: g, message: `message ${i}` })
  await client.messages.create.mutate({ handle: 'londo', message: 'hi londo' })
  const page = await client.messages.list.query({ messageGroupUuid: g, limit: 10 })
  const groupsPage = await client.messageGroups.list.query({ limit: 1 })
  const londoGroups = await createClient({ url: fast.url, token: londo }).messageGroups.list.query()
  t.ok(page.nextCursor && groupsPage.nextCursor)

  const cases: [string, string | undefined][] = [
    ['/trpc/users.me', brown],
    ['/trpc/users.me?batch=1&input=%7B%7D', brown],
    [`/trpc/users.short?${q({ handle: '@Bayko' })}`, brown],
    [`/trpc/users.short?${q({ handle: 'nobody' })}`, brown],
    [`/trpc/users.short?${q({ handle: '' })}`, brown],
    ['/trpc/messageGroups.list', brown],
    [`/trpc/messageGroups.list?${q({})}`, brown],
    [`/trpc/messageGroups.list?${q({ limit: 1 })}`, brown],
    [`/trpc/messageGroups.list?${q({ limit: 1, cursor: groupsPage.nextCursor })}`, brown],
    [`/trpc/messageGroups.list?${q({ limit: 1, cursor: page.nextCursor })}`, brown],
    [`/trpc/messageGroups.list?${q({ limit: 1, cursor: groupsPage.nextCursor })}`, londo],
    [`/trpc/messageGroups.list?${q({ limit: 0 })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g, limit: 10 })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g, limit: 10, cursor: page.nextCursor })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g, limit: 10, cursor: groupsPage.nextCursor })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g })}`, londo],
    [`/trpc/messages.list?${q({ messageGroupUuid: londoGroups.items[0]!.uuid })}`, londo],
    [`/trpc/messages.list?${q({ messageGroupUuid: 'not-a-uuid' })}`, brown],
    [`/trpc/messages.list?${q({ messageGroupUuid: g, extra: 1 })}`, brown],
    ['/trpc/messages.list?input=%7Bbroken', brown],
    [`/trpc/users.me,messageGroups.list,messages.list?batch=1&${q({ 2: { messageGroupUuid: g, limit: 5 } })}`, brown],
    [`/trpc/users.me,users.short?batch=1&${q({ 1: { handle: 'nobody' } })}`, brown],
    [`/trpc/messages.list,messages.list?batch=1&${q({ 0: { messageGroupUuid: g }, 1: { messageGroupUuid: g } })}`, londo],
    [`/trpc/${Array.from({ length: 20 }, () => 'messageGroups.list').join(',')}?batch=1`, brown],
    ['/trpc/messageGroups.list?batch=1&input=%5B1%5D', brown],
    ['/trpc/messageGroups.list?batch=0', brown],
    ['/trpc/messageGroups.list?batch=true&input=%7B%220%22%3A%7B%7D%7D', brown],
    ['/trpc/messageGroups.list?batch=1&batch=1', brown],
    ['/trpc/messageGroups.list?other=1', brown],
    ['/trpc/messageGroups.list', undefined],
    ['/trpc/messageGroups.list', expired],
    ['/trpc/messageGroups.list', 'garbage'],
    ['/trpc/messages.create', brown],
    ['/trpc/nope', brown],
  ]
  const answered = async (app: typeof fast) =>
    (await app.metrics.fastPathAnswers.get()).values.reduce((sum, v) => sum + v.value, 0)
  const before = await answered(fast)
  // Requests it leaves to the adapter even when they succeed: unknown query parameters.
  const adapterOnly = new Set([
    '/trpc/messageGroups.list?batch=0',
    '/trpc/messageGroups.list?other=1',
    '/trpc/messageGroups.list?batch=1&batch=1',
  ])
  let hits = 0
  for (const [path, token] of cases) {
    // Twice: the first may fill the cache (a miss), the second is a hit.
    for (let round = 0; round < 2; round++) {
      const [a, b] = [await fast.call(path, { token }), await slow.call(path, { token })]
      const what = `${path.slice(0, 90)} (${token === brown ? 'brown' : token === londo ? 'londo' : 'bad token'}, round ${round})`
      t.equal(a.status, b.status, `status: ${what}`)
      // The second round is a cache hit: the fast path's to answer.
      if (round === 1 && a.status === 200 && !adapterOnly.has(path)) hits++
      t.equal(a.headers.get('content-type'), b.headers.get('content-type'), `content-type: ${what}`)
      t.equal(a.headers.get('vary'), b.headers.get('vary'), `vary: ${what}`)
      t.same(a.body, b.body, `body: ${what}`)
      t.equal(JSON.stringify(a.body), JSON.stringify(b.body), `bytes: ${what}`)
    }
  }

  // The fast path did answer the hits: the slow app's adapter never saw them differently, and
  // the fast app counted them the same way per procedure.
  const fastAnswers = (await answered(fast)) - before
  t.ok(fastAnswers >= hits && fastAnswers <= 2 * hits, `the fast path answered every hit it takes (${fastAnswers}, ${hits} hits)`)
  t.equal(await answered(slow), 0, 'the other app never used it')
  const metrics = await fast.call('/metrics')
  t.match(metrics.body, /cruddur_trpc_requests_total\{procedure="messageGroups.list",code="OK"\} \d+/)
})

t.test('fast path serves the typed client, and sees writes at once', async (t) => {
  const app = await testApp(t)
  const client = createClient({ url: app.url, token: await app.token('bayko') })
  const other = createClient({ url: app.url, token: await app.token('andrewbrown') })
  const { messageGroupUuid } = await client.messages.create.mutate({ handle: 'andrewbrown', message: 'one' })
  for (let i = 0; i < 5; i++) {
    const text = `reply ${i}`
    await other.messages.create.mutate({ messageGroupUuid, message: text })
    const [groups, messages] = await Promise.all([
      client.messageGroups.list.query(),
      client.messages.list.query({ messageGroupUuid }),
    ])
    t.equal(groups.items[0]!.message, text)
    t.equal(messages.items.at(-1)!.message, text)
  }
})

t.test('a request the fast path leaves to the adapter counts its cache hits once', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const client = createClient({ url: app.url, token })
  await client.messages.create.mutate({ handle: 'bayko', message: 'count me once' })
  await client.messageGroups.list.query() // fills the list
  const groupsHits = async () =>
    (await app.metrics.cacheHits.get()).values.filter((v) => v.labels.entity === 'groups').reduce((sum, v) => sum + v.value, 0)

  const before = await groupsHits()
  // The list is a hit, the unknown handle is not: the adapter answers the whole batch.
  const res = await app.call(`/trpc/messageGroups.list,users.short?batch=1&${q({ 1: { handle: 'nobody' } })}`, { token })
  t.equal(res.status, 207)
  t.equal((await groupsHits()) - before, 1, 'one hit of the list, not two')

  const hit = await app.call('/trpc/messageGroups.list?batch=1&input=%7B%7D', { token })
  t.equal(hit.status, 200)
  t.equal((await groupsHits()) - before, 2, 'and one for a request the fast path answers')
})

t.test('every query of the router is defined once in queries.ts, and both paths serve that definition', async (t) => {
  // tRPC's flat map of procedures by path.
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string; inputs: unknown[] } }>
  const routerQueries = Object.entries(procedures)
    .filter(([, p]) => p._def.type === 'query')
    .map(([path]) => path)
    .sort()
  t.same(Object.keys(queries).sort(), routerQueries, 'a query of the router without a definition would not be served by the fast path')
  for (const path of routerQueries) {
    const inputs = procedures[path]!._def.inputs
    const defined = queries[path as keyof typeof queries].input
    t.same(inputs, defined ? [defined] : [], `${path}: the router parses the input with the definition's schema`)
  }
})

t.test('remembered inputs and query strings: a refused input is refused every time, an accepted one answers every time', async (t) => {
  const app = await testApp(t)
  const token = await app.token('andrewbrown')
  const client = createClient({ url: app.url, token })
  const { messageGroupUuid } = await client.messages.create.mutate({ handle: 'bayko', message: 'remember me' })
  const answered = async () => {
    const text = await app.metrics.registry.metrics()
    return [...text.matchAll(/^cruddur_fast_path_responses_total\{via="\w+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
  }
  const good = `/trpc/messages.list?${q({ messageGroupUuid, limit: 5 })}`
  const bad = `/trpc/messages.list?${q({ messageGroupUuid, limit: 0 })}`
  // Refused by the schema (strict), though its page (limit 5) is cached: answered only if a refused input were used.
  const unknownKey = `/trpc/messages.list?${q({ messageGroupUuid, limit: 5, extra: true })}`
  const empty = '/trpc/messages.list?input='
  await app.call(good, { token }) // fills the page
  for (let round = 0; round < 3; round++) {
    const before = await answered()
    const ok = await app.call(good, { token })
    t.equal(ok.status, 200, `round ${round}: the same text is answered`)
    t.same((ok.body as { result: { data: { items: { message: string }[] } } }).result.data.items.map((m) => m.message), ['remember me'])
    t.equal((await answered()) - before, 1, `round ${round}: from the cache, by the fast path`)
    t.equal((await app.call(bad, { token })).status, 400, `round ${round}: a limit of 0 is refused, every time`)
    t.equal((await app.call(unknownKey, { token })).status, 400, `round ${round}: an unknown key is refused, every time`)
    t.equal((await app.call(empty, { token })).status, 400, `round ${round}: an empty input is not "no input"`)
    t.equal((await app.call(good, { token: await app.token('bayko') })).status, 200, `round ${round}: the other member, same text`)
    // Membership is checked per caller, not remembered with the input.
    t.equal((await app.call(good, { token: await app.token('londo') })).status, 404, `round ${round}: a non-member sending a remembered text`)
  }
})

t.test('one kept-alive connection: every request is authenticated by its own Authorization header', async (t) => {
  const app = await testApp(t)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => {
    agent.destroy()
  })
  const url = new URL(app.url)
  const me = (authorization?: string) =>
    new Promise<{ status: number; handle: string | undefined; reused: boolean }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/trpc/users.me', agent, headers: authorization ? { authorization } : {} }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => {
          const body = JSON.parse(text) as { result?: { data: { handle: string } } }
          resolve({ status: res.statusCode ?? 0, handle: body.result?.data.handle, reused: req.reusedSocket })
        })
      })
      req.on('error', reject)
      req.end()
    })
  const ttlSeconds = 3
  const brown = `Bearer ${await app.token('andrewbrown', { ttlSeconds })}`
  const expiresAt = Date.now() + ttlSeconds * 1000
  const bayko = `Bearer ${await app.token('bayko')}`
  t.match(await me(brown), { status: 200, handle: 'andrewbrown' })
  t.match(await me(brown), { status: 200, handle: 'andrewbrown', reused: true }, 'the same header again, same connection')
  t.match(await me(bayko), { status: 200, handle: 'bayko', reused: true }, 'another caller on the same connection is that caller')
  t.match(await me(brown), { status: 200, handle: 'andrewbrown', reused: true })
  t.match(await me(), { status: 401, reused: true }, 'no header after a known one: refused')
  t.match(await me(`${brown}x`), { status: 401, reused: true }, 'a forged signature after a known one: refused')
  t.match(await me(brown), { status: 200, handle: 'andrewbrown', reused: true })
  await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 1000))
  const expired = await me(brown)
  t.match(expired, { status: 401, reused: true }, 'a token that expired while its connection stayed open: refused')
})
