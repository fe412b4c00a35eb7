// Two instances sharing DynamoDB, PostgreSQL and a real redis-server (or a 3-node Redis Cluster):
// what one acknowledges reaches subscribers on the other; 100 concurrent sends from both participants
// over both instances reach every subscriber as exactly the acknowledged set, in sort-key order, each
// once; Redis killed and restarted, or frozen, loses nothing.
import t, { type Test } from 'tap'
import type { Message } from '@cruddur/contracts'
import type { Config } from '../../../server/config.js'
import { type TestApp, testApp } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedis, startRedisCluster } from '../../helpers/redis-server.js'
import { type Collected, onChanged, onCreated, opened, subscriberClient } from '../../helpers/subscriber.js'

async function pair(t: Test, redis: Config['redis']): Promise<[TestApp, TestApp]> {
  const backends = await testBackends(t)
  const cachePrefix = `rt-${Math.random().toString(36).slice(2)}`
  const a = await testApp(t, { backends, redis, cachePrefix })
  const b = await testApp(t, { backends, redis, cachePrefix, key: a.key })
  return [a, b]
}

const waitForBus = async (app: TestApp, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (app.app.bus.status() !== 'up') {
    if (Date.now() > deadline) throw new Error('bus not up')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Every message of a conversation, oldest first. */
async function stored(app: TestApp, token: string, group: string): Promise<Message[]> {
  const client = subscriberClient(app.url, token)
  const items: Message[] = []
  let cursor: string | undefined
  do {
    const page = await client.messages.list.query({ messageGroupUuid: group, limit: 100, ...(cursor ? { cursor } : {}) })
    items.unshift(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return items
}

/** A counter's value in Prometheus text (0 when the series is absent). */
const counter = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0)

t.test('one Redis: a message acknowledged on A reaches subscribers on B, and 100 concurrent sends arrive as acknowledged', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t)
  const [a, b] = await pair(t, { kind: 'single', url: redis.url })
  await Promise.all([waitForBus(a), waitForBus(b)])
  const brownA = subscriberClient(a.url, await a.token('andrewbrown'))
  const baykoB = subscriberClient(b.url, await b.token('bayko'))
  const brownB = subscriberClient(b.url, await b.token('andrewbrown'))
  const baykoA = subscriberClient(a.url, await a.token('bayko'))
  const group = (await brownA.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid

  const subscribers: [string, Collected<Message>][] = [
    ['bayko on B', onCreated(baykoB, group)],
    ['bayko on A', onCreated(baykoA, group)],
    ['andrewbrown on B', onCreated(brownB, group)],
    ['andrewbrown on A', onCreated(brownA, group)],
  ]
  const rows = onChanged(baykoB)
  t.teardown(() => {
    for (const [, s] of subscribers) s.stop()
    rows.stop()
  })
  await opened(() => a.metrics.registry.metrics(), 2)
  await opened(() => b.metrics.registry.metrics(), 3)

  const one = await brownA.messages.create.mutate({ messageGroupUuid: group, message: 'acknowledged on A' })
  await subscribers[0]![1].until((e) => e.length === 1, 5_000, 'the message on B')
  t.same(subscribers[0]![1].events[0]!.data, one.message, 'B delivers what A acknowledged')

  // 100 at once: both participants, through both instances.
  const senders = [brownA, baykoB, brownB, baykoA]
  const acknowledged = await Promise.all(
    Array.from({ length: 100 }, (_, i) => senders[i % 4]!.messages.create.mutate({ messageGroupUuid: group, message: `burst ${i}` })),
  )
  const expected = [one.message, ...acknowledged.map((r) => r.message)].sort((x, y) => (x.createdAt + x.uuid < y.createdAt + y.uuid ? -1 : 1))
  for (const [who, s] of subscribers) {
    await s.until((e) => e.length >= 101, 20_000, `101 events for ${who}`)
  }
  await new Promise((r) => setTimeout(r, 500))
  const inStore = (await stored(b, await b.token('bayko'), group)).slice(1)
  t.same(inStore.map((m) => m.uuid), expected.map((m) => m.uuid), 'the store holds the acknowledged set')
  for (const [who, s] of subscribers) {
    t.same(s.events.map((e) => e.data.uuid), inStore.map((m) => m.uuid), `${who}: exactly the acknowledged set, in sort-key order, each once`)
    t.same(s.errors, [], `${who}: no errors`)
  }
  await rows.until((e) => e.at(-1)?.data.message === inStore.at(-1)!.message, 5_000, 'the last row')
  t.equal(rows.events.at(-1)!.data.message, inStore.at(-1)!.message, "bayko's list row ends on the last message")

  const metrics = await b.metrics.registry.metrics()
  t.match(metrics, /cruddur_subscription_events_total\{kind="messages"\} (\d+)/)
  t.match(metrics, /cruddur_subscription_delivery_seconds_count\{kind="messages"\} [1-9]/, 'delivery latency is measured')
})

t.test('Redis killed mid-stream and restarted, then frozen with SIGSTOP: nothing lost, nothing twice', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis(t)
  const [a, b] = await pair(t, { kind: 'single', url: redis.url })
  await Promise.all([waitForBus(a), waitForBus(b)])
  const brownA = subscriberClient(a.url, await a.token('andrewbrown'))
  const baykoB = subscriberClient(b.url, await b.token('bayko'))
  const group = (await brownA.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const got = onCreated(baykoB, group)
  const rows = onChanged(baykoB)
  t.teardown(() => {
    got.stop()
    rows.stop()
  })
  await opened(() => b.metrics.registry.metrics(), 2)
  const sent: string[] = []
  const send = async (text: string) => {
    sent.push((await brownA.messages.create.mutate({ messageGroupUuid: group, message: text })).message.uuid)
  }
  await send('before the outage')
  await got.until((e) => e.length === 1, 5_000)

  await redis.kill()
  for (let i = 0; i < 5; i++) await send(`while Redis is down ${i}`)
  // Delivered while the bus is down: subscriptions read DynamoDB at intervals.
  await got.until((e) => e.length === 6, 10_000, 'the messages sent while Redis was down')
  await redis.start()
  await Promise.all([waitForBus(a), waitForBus(b)])
  await send('after the restart')
  await got.until((e) => e.length === 7, 10_000)

  redis.pause()
  for (let i = 0; i < 3; i++) await send(`while Redis is frozen ${i}`)
  await new Promise((r) => setTimeout(r, 1500))
  redis.resume()
  await got.until((e) => e.length === 10, 15_000, 'the messages sent while Redis was frozen')
  await send('after the thaw')
  await got.until((e) => e.length === 11, 10_000)
  await new Promise((r) => setTimeout(r, 500))
  t.same(got.events.map((e) => e.data.uuid), sent, 'every acknowledged message, in order, once')
  t.equal(rows.events.at(-1)!.data.message, 'after the thaw', 'the list row too')
  t.same(got.errors, [])
  const metrics = await b.metrics.registry.metrics()
  t.match(metrics, /cruddur_realtime_bus_reconnects_total [2-9]/, 'the bus came back twice (or more)')
  t.match(metrics, /cruddur_subscription_catchup_events_total\{kind="messages"\} [1-9]/, 'some came from DynamoDB')
})

t.test('a Redis Cluster: rings travel by sharded pub/sub to the other instance', { timeout: 120_000 }, async (t) => {
  const cluster = await startRedisCluster(t)
  const [a, b] = await pair(t, { kind: 'cluster', nodes: cluster.nodes })
  await Promise.all([waitForBus(a, 20_000), waitForBus(b, 20_000)])
  const brownA = subscriberClient(a.url, await a.token('andrewbrown'))
  const baykoB = subscriberClient(b.url, await b.token('bayko'))
  const group = (await brownA.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const got = onCreated(baykoB, group)
  const rows = onChanged(baykoB)
  t.teardown(() => {
    got.stop()
    rows.stop()
  })
  await opened(() => b.metrics.registry.metrics(), 2)
  const sent = []
  for (let i = 0; i < 5; i++) sent.push((await brownA.messages.create.mutate({ messageGroupUuid: group, message: `c${i}` })).message.uuid)
  await got.until((e) => e.length === 5, 10_000)
  await rows.until((e) => e.length === 5, 10_000)
  t.same(got.events.map((e) => e.data.uuid), sent)
  const metrics = await b.metrics.registry.metrics()
  t.equal(counter(metrics, 'cruddur_subscription_catchup_events_total{kind="messages"}'), 0, 'delivered by the bus, not by reading DynamoDB')
  // Sharded: the channel lives on the node of its slot.
  const numsub = await Promise.all(cluster.servers.map((s) => s.client().call('PUBSUB', 'SHARDNUMSUB', `${a.config.cacheKeyPrefix}:v1:{c:${group}}:events`) as Promise<[string, number]>))
  t.equal(numsub.filter(([, n]) => n > 0).length, 1, 'one node holds the conversation channel')
})
