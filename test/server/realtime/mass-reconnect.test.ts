// Many subscribers dropped at once (their instance stops) reconnect through the load balancer to the
// other instance with their last event ids, while messages keep coming: every one of them ends with
// exactly the messages of its conversation, none lost, none twice.
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { subscribe } from '../../helpers/sse-client.js'
import { opened, subscriberClient } from '../../helpers/subscriber.js'
import { tcpProxy } from '../../helpers/tcp-proxy.js'

const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const SUBSCRIBERS = 300

t.test('a mass reconnect loses nothing and doubles nothing', { timeout: 180_000 }, async (t) => {
  const backends = await testBackends(t)
  const common = {
    backends,
    redis: { kind: 'single' as const, url: REDIS },
    cachePrefix: `mass-${Math.random().toString(36).slice(2)}`,
    // Three users hold all 300 streams: far past the per-user limit of subscription starts a person meets.
    env: { SUBSCRIPTIONS_PER_USER: String(SUBSCRIBERS), RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: String(SUBSCRIBERS * 10) },
  }
  const one = await testApp(t, common)
  const two = await testApp(t, { ...common, key: one.key })
  const balancer = await tcpProxy(t, [
    { host: '127.0.0.1', port: Number(new URL(one.url).port) },
    { host: '127.0.0.1', port: Number(new URL(two.url).port) },
  ])
  const handles = ['andrewbrown', 'bayko', 'londo']
  const tokens = Object.fromEntries(await Promise.all(handles.map(async (h) => [h, await one.token(h)] as const)))
  const conversations: { group: string; members: [string, string] }[] = []
  for (const [a, b] of [
    ['andrewbrown', 'bayko'],
    ['bayko', 'londo'],
    ['londo', 'andrewbrown'],
  ] as const) {
    const group = (await subscriberClient(two.url, tokens[a]!).messages.create.mutate({ handle: b, message: 'start' })).messageGroupUuid
    conversations.push({ group, members: [a, b] })
  }
  const url = `http://127.0.0.1:${balancer.port}`
  const subs = Array.from({ length: SUBSCRIBERS }, (_, i) => {
    const c = conversations[i % conversations.length]!
    const who = c.members[i % 2]!
    return { group: c.group, sub: subscribe({ url, path: 'messages.onCreated', input: { messageGroupUuid: c.group }, token: tokens[who]!, reconnectMs: 1000 }) }
  })
  t.teardown(() => {
    for (const s of subs) s.sub.close()
  })
  await opened(() => one.metrics.registry.metrics(), SUBSCRIBERS, 60_000)

  const sent = new Map<string, string[]>(conversations.map((c) => [c.group, []]))
  const senders = Object.fromEntries(handles.map((h) => [h, subscriberClient(two.url, tokens[h]!)]))
  const state = { flowing: true }
  const flow = (async () => {
    for (let i = 0; state.flowing; i++) {
      const c = conversations[i % conversations.length]!
      const created = await senders[c.members[i % 2]!]!.messages.create.mutate({ messageGroupUuid: c.group, message: `flow ${i}` })
      sent.get(c.group)!.push(created.message.uuid)
      await new Promise((r) => setTimeout(r, 40))
    }
  })()
  await new Promise((r) => setTimeout(r, 1000))
  await one.server.stop() // every stream ends at once; the subscribers reconnect to the other instance
  await new Promise((r) => setTimeout(r, 3000))
  state.flowing = false
  await flow
  const complete = () => subs.every((s) => s.sub.received.length >= sent.get(s.group)!.length)
  for (let i = 0; !complete() && i < 600; i++) await new Promise((r) => setTimeout(r, 100))
  await new Promise((r) => setTimeout(r, 500))
  let lost = 0
  let doubled = 0
  let misordered = 0
  for (const s of subs) {
    const got = s.sub.received.map((e) => (e.data as { uuid: string }).uuid)
    const want = sent.get(s.group)!
    lost += want.filter((u) => !got.includes(u)).length
    doubled += got.length - new Set(got).size
    if (got.join() !== want.join()) misordered++
  }
  if (lost > 0) {
    const behind = subs.filter((s) => s.sub.received.length < sent.get(s.group)!.length)
    t.comment(`${behind.length} subscribers behind; connects ${behind.slice(0, 10).map((s) => s.sub.connects).join(',')}; got ${behind.slice(0, 10).map((s) => `${s.sub.received.length}/${sent.get(s.group)!.length}`).join(',')}`)
  }
  t.equal(lost, 0, 'none lost')
  t.equal(doubled, 0, 'none twice')
  t.equal(misordered, 0, 'every subscriber got exactly what was sent to its conversation, in order')
  t.ok(subs.every((s) => s.sub.connects >= 2), 'every subscriber reconnected')
  const reads = /cruddur_subscription_catchups_total\{kind="messages"\} (\d+)/.exec(await two.metrics.registry.metrics())?.[1]
  t.comment(`catch-up reads on the second instance: ${reads} for ${SUBSCRIBERS} subscribers`)
  t.ok(Number(reads) <= 3 * SUBSCRIBERS, `catching up cost at most three reads per subscriber (${reads})`)
})
