// The two subscriptions on one instance (the in-process bus), over real SSE with @cruddur/client:
// what they deliver and in what order, resuming, who may subscribe, and how streams end.
import t from 'tap'
import type { Message } from '@cruddur/contracts'
import { type TestApp, testApp } from '../../helpers/app.js'
import { onChanged, onCreated, opened, subscriberClient } from '../../helpers/subscriber.js'

async function start(app: TestApp, from: string, to: string, text = 'hello') {
  const client = subscriberClient(app.url, await app.token(from))
  const created = await client.messages.create.mutate({ handle: to, message: text })
  return { client, group: created.messageGroupUuid }
}

const metricsOf = (app: TestApp) => () => app.metrics.registry.metrics()
const texts = (events: { data: Message }[]) => events.map((e) => e.data.message)

t.test('onCreated delivers what is created from now on, in order, each once', async (t) => {
  const app = await testApp(t)
  const { client: brown, group } = await start(app, 'andrewbrown', 'bayko', 'before')
  const bayko = subscriberClient(app.url, await app.token('bayko'))
  const theirs = onCreated(bayko, group)
  const mine = onCreated(brown, group)
  t.teardown(() => {
    theirs.stop()
    mine.stop()
  })
  await opened(metricsOf(app), 2)
  const sent: string[] = []
  for (let i = 0; i < 5; i++) {
    const who = i % 2 ? bayko : brown
    sent.push((await who.messages.create.mutate({ messageGroupUuid: group, message: `m${i}` })).message.message)
  }
  // Some at once, from both sides.
  const parallel = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? bayko : brown).messages.create.mutate({ messageGroupUuid: group, message: `p${i}` })),
  )
  await theirs.until((e) => e.length >= 15)
  await mine.until((e) => e.length >= 15)
  await new Promise((r) => setTimeout(r, 200)) // nothing more may follow
  const stored = (await brown.messages.list.query({ messageGroupUuid: group, limit: 100 })).items.slice(1)
  for (const [who, got] of [
    ['the other participant', theirs],
    ['the sender', mine],
  ] as const) {
    t.same(texts(got.events), stored.map((m) => m.message), `${who}: exactly what was stored after the start, in order`)
    t.same(got.events.map((e) => e.data.uuid), stored.map((m) => m.uuid))
    t.equal(new Set(got.events.map((e) => e.id)).size, 15, 'each event once, each with its own id')
    t.same([...got.events.map((e) => e.id)].sort(), got.events.map((e) => e.id), 'ids in sort-key order')
    t.same(got.errors, [])
  }
  t.same(parallel.map((p) => p.message.uuid).sort(), stored.slice(5).map((m) => m.uuid).sort())
  t.same(sent, ['m0', 'm1', 'm2', 'm3', 'm4'])
})

t.test('resuming with lastEventId delivers everything after it, then live events, with no gap or double at the seam', async (t) => {
  const app = await testApp(t)
  const { client: brown, group } = await start(app, 'andrewbrown', 'bayko')
  const bayko = subscriberClient(app.url, await app.token('bayko'))
  const first = onCreated(bayko, group)
  await opened(metricsOf(app), 1)
  for (let i = 0; i < 3; i++) await brown.messages.create.mutate({ messageGroupUuid: group, message: `a${i}` })
  await first.until((e) => e.length === 3)
  first.stop()
  const last = first.events.at(-1)!.id
  // Messages keep coming while the subscriber is away, and while it comes back.
  for (let i = 0; i < 3; i++) await brown.messages.create.mutate({ messageGroupUuid: group, message: `b${i}` })
  const during = Promise.all(Array.from({ length: 6 }, (_, i) => brown.messages.create.mutate({ messageGroupUuid: group, message: `c${i}` })))
  const resumed = onCreated(bayko, group, last)
  t.teardown(() => { resumed.stop() })
  await during
  for (let i = 0; i < 3; i++) await brown.messages.create.mutate({ messageGroupUuid: group, message: `d${i}` })
  await resumed.until((e) => e.length >= 12)
  await new Promise((r) => setTimeout(r, 200))
  const stored = (await brown.messages.list.query({ messageGroupUuid: group, limit: 100 })).items
  const after = stored.slice(stored.findIndex((m) => m.message === 'a2') + 1)
  t.same(texts(resumed.events), after.map((m) => m.message), 'everything after the last event, in order, once')
  t.same(texts(first.events), ['a0', 'a1', 'a2'])
})

t.test('onChanged: the caller rows as the list shows them, a new conversation included', async (t) => {
  const app = await testApp(t)
  const londo = subscriberClient(app.url, await app.token('londo'))
  const rows = onChanged(londo)
  t.teardown(() => { rows.stop() })
  await opened(metricsOf(app), 1)
  const { group } = await start(app, 'andrewbrown', 'londo', 'a new conversation')
  await rows.until((e) => e.length === 1)
  t.match(rows.events[0]!.data, { uuid: group, handle: 'andrewbrown', displayName: 'Andrew Brown', message: 'a new conversation' })
  const bayko = subscriberClient(app.url, await app.token('bayko'))
  const other = (await bayko.messages.create.mutate({ handle: 'londo', message: 'from bayko' })).messageGroupUuid
  await londo.messages.create.mutate({ messageGroupUuid: group, message: 'londo answers' })
  await rows.until((e) => e.length === 3)
  t.same(
    rows.events.map((e) => [e.data.uuid, e.data.handle, e.data.message]),
    [
      [group, 'andrewbrown', 'a new conversation'],
      [other, 'bayko', 'from bayko'],
      [group, 'andrewbrown', 'londo answers'],
    ],
  )
  // Each row is what messageGroups.list now shows at the top.
  const list = await londo.messageGroups.list.query()
  t.same(list.items[0], rows.events.at(-1)!.data)
  // Resuming after the second row delivers the third only.
  const resumed = onChanged(londo, rows.events[1]!.id)
  t.teardown(() => { resumed.stop() })
  await resumed.until((e) => e.length === 1)
  await new Promise((r) => setTimeout(r, 200))
  t.same(resumed.events.map((e) => e.data.message), ['londo answers'])
})

t.test('a non-member, an unknown conversation and a bad token are refused as by the queries', async (t) => {
  const app = await testApp(t)
  const { group } = await start(app, 'andrewbrown', 'bayko')
  const londo = subscriberClient(app.url, await app.token('londo'))
  const stranger = onCreated(londo, group)
  const unknown = onCreated(londo, crypto.randomUUID())
  const anonymous = onCreated(subscriberClient(app.url, 'not-a-token'), group)
  const rowsAnonymous = onChanged(subscriberClient(app.url, 'not-a-token'))
  for (const s of [stranger, unknown, anonymous, rowsAnonymous]) {
    await s.until(() => s.errors.length > 0, 10_000, 'an error')
    s.stop()
  }
  t.same(stranger.errors.map((e) => e.code), ['NOT_FOUND'], 'not a member: NOT_FOUND')
  t.same(unknown.errors.map((e) => e.code), ['NOT_FOUND'], 'no such conversation: the same NOT_FOUND')
  t.equal(stranger.errors[0]!.message, unknown.errors[0]!.message, 'with the same message: existence does not leak')
  t.same(anonymous.errors.map((e) => e.code), ['UNAUTHORIZED'])
  t.same(rowsAnonymous.errors.map((e) => e.code), ['UNAUTHORIZED'])
  t.same([...stranger.events, ...unknown.events], [])
})

t.test('subscription limits per user and per instance answer TOO_MANY_REQUESTS', async (t) => {
  const app = await testApp(t, { env: { SUBSCRIPTIONS_PER_USER: '2', SUBSCRIPTIONS_PER_INSTANCE: '3' } })
  const { client: brown, group } = await start(app, 'andrewbrown', 'bayko')
  const bayko = subscriberClient(app.url, await app.token('bayko'))
  const subs = [onCreated(brown, group), onChanged(brown)]
  await opened(metricsOf(app), 2)
  const third = onChanged(brown)
  await third.until(() => third.errors.length > 0, 10_000, 'the refusal')
  t.same(third.errors.map((e) => e.code), ['TOO_MANY_REQUESTS'], "a user's third subscription is refused")
  third.stop()
  subs.push(onCreated(bayko, group))
  await opened(metricsOf(app), 3)
  const fourth = onChanged(bayko)
  await fourth.until(() => fourth.errors.length > 0, 10_000, 'the refusal')
  t.same(fourth.errors.map((e) => e.code), ['TOO_MANY_REQUESTS'], "the instance's fourth is refused")
  fourth.stop()
  // A closed subscription frees its place.
  subs[0]!.stop()
  await new Promise((r) => setTimeout(r, 300))
  const again = onChanged(bayko)
  await opened(metricsOf(app), 3)
  t.same(again.errors, [])
  again.stop()
  for (const s of subs) s.stop()
  t.match(await app.metrics.registry.metrics(), /cruddur_subscriptions_refused_total\{reason="user"\} [1-9]/)
  t.match(await app.metrics.registry.metrics(), /cruddur_subscriptions_refused_total\{reason="instance"\} [1-9]/)
})

t.test('a stream ends when its token expires; the client resumes with a fresh token, losing nothing', async (t) => {
  const app = await testApp(t)
  const { client: brown, group } = await start(app, 'andrewbrown', 'bayko')
  const tokens: string[] = []
  // Each token lives 3 s; the client asks its token function for every (re)connect.
  const fresh = async () => {
    const token = await app.token('bayko', { ttlSeconds: 3 })
    tokens.push(token)
    return token
  }
  const bayko = subscriberClient(app.url, fresh)
  const got = onCreated(bayko, group)
  t.teardown(() => { got.stop() })
  await opened(metricsOf(app), 1)
  const sent: string[] = []
  const until = Date.now() + 7_000
  for (let i = 0; Date.now() < until; i++) {
    sent.push((await brown.messages.create.mutate({ messageGroupUuid: group, message: `t${i}` })).message.message)
    await new Promise((r) => setTimeout(r, 150))
  }
  await got.until((e) => e.length >= sent.length, 15_000, 'every message')
  await new Promise((r) => setTimeout(r, 300))
  t.same(texts(got.events), sent, 'every message once, in order, across the expiries')
  t.ok(tokens.length >= 3, `the token function was asked again at each expiry (${tokens.length} tokens)`)
  t.same(got.errors, [], 'the subscriber saw no error')
  t.match(await app.metrics.registry.metrics(), /cruddur_subscriptions_ended_total\{reason="expired"\} [1-9]/)
})
