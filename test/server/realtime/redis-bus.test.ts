// The bus over a real redis-server, through a TCP proxy that can cut the connection and hold Redis's
// answers: a channel first listened to while the bus is coming back up (after the beat listed the
// channels to subscribe again, before it marked the bus up) is subscribed all the same, and hears
// what is rung on it afterwards; answers slower than a request's timeout but within a beat (a busy
// instance reads them late) do not mark the bus down.
import { Redis } from 'ioredis'
import t from 'tap'
import { createMetrics } from '../../../server/metrics.js'
import { createRedisBus } from '../../../server/realtime/redis-bus.js'
import { tcpProxy } from '../../helpers/tcp-proxy.js'

const REDIS = { host: '127.0.0.1', port: Number(new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').port || 6379) }
const quiet = { warn() {}, info() {} }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

t.test('a channel first heard while the bus is coming back up is subscribed too', async (t) => {
  const proxy = await tcpProxy(t, REDIS)
  const url = `redis://${proxy.host}:${proxy.port}`
  const heard = createRedisBus({ redis: { kind: 'single', url }, commandTimeoutMs: 2_000, heartbeatMs: 50, log: quiet, metrics: createMetrics() })
  // Rings go straight to Redis; the bus under test only listens.
  const ringer = createRedisBus({ redis: { kind: 'single', url: `redis://${REDIS.host}:${REDIS.port}` }, commandTimeoutMs: 2_000, log: quiet, metrics: createMetrics() })
  t.teardown(() => Promise.all([heard.close(), ringer.close()]))
  const tag = Math.random().toString(36).slice(2)
  const old = `bus-test:${tag}:old`
  const late = `bus-test:${tag}:late`
  await until('the bus up', () => heard.status() === 'up')
  const oldHeard: string[] = []
  await heard.subscribe(old, (p) => oldHeard.push(p)).ready
  await until('the other bus up', () => ringer.status() === 'up')

  // Down: the connection cut; back with Redis's answers held for a while, so that the beat that
  // brings the bus up waits on its SSUBSCRIBEs after it listed the channels.
  proxy.cut()
  await until('the bus down', () => heard.status() === 'down')
  proxy.lag(300)
  proxy.restore()
  const admin = new Redis(`redis://${REDIS.host}:${REDIS.port}`)
  t.teardown(() => admin.quit())
  // Redis has run the beat's SSUBSCRIBE of the old channel; its answer is still on its way.
  await until('the old channel subscribed again', async () => ((await admin.call('PUBSUB', 'SHARDCHANNELS', old)) as string[]).length === 1)
  t.equal(heard.status(), 'down', 'the beat has not marked the bus up yet')
  const lateHeard: string[] = []
  const listening = heard.subscribe(late, (p) => lateHeard.push(p))
  proxy.lag(0)
  await listening.ready
  await until('the bus up again', () => heard.status() === 'up')

  await ringer.publish(old, 'to old')
  await ringer.publish(late, 'to late')
  await until('both rings heard', () => oldHeard.length === 1 && lateHeard.length === 1, 3_000).catch(() => {})
  t.same(oldHeard, ['to old'], 'the channel listed by the beat hears its ring')
  t.same(lateHeard, ['to late'], 'the channel first heard during the beat hears its ring')
})

t.test('answers slower than the request timeout but within a beat leave the bus up', async (t) => {
  const proxy = await tcpProxy(t, REDIS)
  const metrics = createMetrics()
  // The server's settings: 100-ms command timeout, a beat a second.
  const heard = createRedisBus({ redis: { kind: 'single', url: `redis://${proxy.host}:${proxy.port}` }, commandTimeoutMs: 100, log: quiet, metrics })
  const ringer = createRedisBus({ redis: { kind: 'single', url: `redis://${REDIS.host}:${REDIS.port}` }, commandTimeoutMs: 100, log: quiet, metrics: createMetrics() })
  t.teardown(() => Promise.all([heard.close(), ringer.close()]))
  await until('both buses up', () => heard.status() === 'up' && ringer.status() === 'up')
  const changes: string[] = []
  heard.onStatus((s) => changes.push(s))
  const channel = `bus-test:${Math.random().toString(36).slice(2)}:slow`
  // A busy instance sees Redis's answers late: here they are held for 300 ms.
  proxy.lag(300)
  const got: string[] = []
  const started = Date.now()
  await heard.subscribe(channel, (p) => got.push(p)).ready
  t.ok(Date.now() - started >= 250, 'the subscription waited for its SSUBSCRIBE')
  await sleep(1_500) // a beat or two, their PINGs answered as late
  t.equal(heard.status(), 'up', 'still up')
  proxy.lag(0)
  await ringer.publish(channel, 'ring')
  await until('the ring heard', () => got.length === 1, 3_000).catch(() => {})
  t.same(got, ['ring'], 'the channel hears its ring')
  t.same(changes, [], 'never down (and up again) meanwhile')
  t.equal((await metrics.realtime.busReconnects.get()).values[0]?.value ?? 0, 1, 'up once, never down and up again')
})
