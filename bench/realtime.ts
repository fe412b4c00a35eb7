// Scenario (e), real time, on instances of its own (started here, stopped at the end):
//  1. delivery: 1,000 open subscriptions on instance R1 (each conversation's two participants, and
//     every user's list), messages created through instance A at a steady rate: the time from sending
//     messages.create to receipt by the other participant's subscriber, beside the create's latency;
//  2. memory: RSS per idle open subscription, with 5,000 open on a fresh instance R2;
//  3. mass reconnect: 2,000 subscribers of instance R1 dropped at once (it is restarted) while
//     messages keep coming: how long until all have caught up, what the catch-up cost in DynamoDB
//     reads, and that none lost or got twice a message.
import type { BenchUser, Conversation } from './fixtures.js'
import { percentiles, type Percentiles } from './tally.js'
import type { Env } from './scenarios.js'
import { type Child, memoryOf, startServer, stopChild } from './servers.js'
import { type SseSubscription, subscribe } from '../test/helpers/sse-client.js'

export interface RealtimeResult {
  delivery: {
    subscriptions: number
    /** Messages per second asked, and sent. */
    rate: number
    sent: number
    /** From sending messages.create on A to receipt by the other participant's subscriber on R1. */
    deliveryMs: Percentiles
    /** The same creates' own latency (to their answer). */
    createMs: Percentiles
    /** Messages not received by their subscriber (should be 0). */
    missing: number
  }
  memory: { subscriptions: number; rssBeforeMb: number; rssAfterMb: number; kbPerSubscription: number }
  reconnect: {
    subscribers: number
    /** From the restart (SIGTERM) until every subscriber had every message acknowledged so far. */
    caughtUpSec: number
    /** DynamoDB reads made by the restarted instance's subscriptions to catch up. */
    catchUpReads: number
    sent: number
    lost: number
    duplicated: number
  }
}

interface Options {
  rate: number
  deliverySec: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A subscriber of a conversation, as one of its participants, and how often it got each message (by uuid). */
interface Follower {
  user: BenchUser
  conversation: Conversation
  sub: SseSubscription & { count: number }
  seen: Map<string, number>
}

function follow(url: string | (() => string), user: BenchUser, conversation: Conversation, onEvent?: (uuid: string, at: number) => void): Follower {
  const seen = new Map<string, number>()
  const sub = subscribe({
    url,
    path: 'messages.onCreated',
    input: { messageGroupUuid: conversation.uuid },
    token: user.token,
    countOnly: false,
    reconnectMs: 3000,
    onEvent: (e: { id: string; data: unknown; at: number }) => {
      const uuid = (e.data as { uuid: string } | null)?.uuid ?? e.id
      seen.set(uuid, (seen.get(uuid) ?? 0) + 1)
      onEvent?.(uuid, e.at)
    },
  })
  return { user, conversation, sub, seen }
}

/** Waits until `server` counts `n` open subscriptions (started: what is created from now on, they get). */
async function opened(server: Child, n: number, token: string): Promise<void> {
  for (let i = 0; (await metric(server, 'cruddur_subscriptions_open', token)) < n; i++) {
    if (i > 1200) throw new Error(`${server.name}: fewer than ${n} subscriptions opened in 60 s (${await metric(server, 'cruddur_subscriptions_open', token)}); its warnings: ${server.warningLines().slice(0, 3).join(' | ')}`)
    await sleep(50)
  }
}

async function metric(server: Child, name: string, token: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
}

/** Creates one message through `server`; resolves to its uuid and how long the answer took. */
async function create(server: Child, user: BenchUser, groupUuid: string, text: string): Promise<{ uuid: string; ms: number; started: number }> {
  const started = performance.now()
  const res = await fetch(`${server.url}/trpc/messages.create`, {
    method: 'POST',
    headers: { authorization: user.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ messageGroupUuid: groupUuid, message: text, clientMessageId: crypto.randomUUID() }),
  })
  const body = (await res.json()) as { result?: { data: { message: { uuid: string } } } }
  if (!body.result) throw new Error(`messages.create answered ${res.status}`)
  return { uuid: body.result.data.message.uuid, ms: performance.now() - started, started }
}

/** Sends messages at `rate` per second until `until()` is true; random conversations, random side. */
async function steady(env: Env, rate: number, until: () => boolean, sent: (c: Conversation, from: number, r: Awaited<ReturnType<typeof create>>) => void) {
  const inflight = new Set<Promise<void>>()
  const interval = 1000 / rate
  const start = performance.now()
  for (let i = 0; !until() && !env.signal.aborted; i++) {
    const due = start + i * interval
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const c = env.conversations[Math.floor(Math.random() * env.conversations.length)]!
    const side = Math.random() < 0.5 ? c.a : c.b
    const p = create(env.A, env.users[side]!, c.uuid, `rt ${i}`).then(
      (r) => { sent(c, side, r) },
      () => {},
    )
    inflight.add(p)
    void p.finally(() => inflight.delete(p))
  }
  await Promise.all(inflight)
}

export async function scenarioE(env: Env, serverEnv: Record<string, string>, metricsToken: string, options: Options): Promise<RealtimeResult> {
  const rtEnv = { ...serverEnv, SUBSCRIPTIONS_PER_USER: '1000', SUBSCRIPTIONS_PER_INSTANCE: '20000' }
  env.log('(e) real time: starting instances R1 (subscribers) and R2 (memory)')
  let r1 = await startServer('R1', rtEnv)
  const r1Url = r1.url

  // 1. Delivery: the other participant's subscriber of each conversation measures its messages.
  const received = new Map<string, number>() // message uuid -> when the other participant got it
  const followers: Follower[] = []
  const subs: SseSubscription[] = []
  for (const c of env.conversations) {
    for (const side of [c.a, c.b]) {
      const user = env.users[side]!
      followers.push(
        follow(r1Url, user, c, (uuid, at) => {
          if (!received.has(`${uuid}:${user.index}`)) received.set(`${uuid}:${user.index}`, at)
        }),
      )
    }
  }
  for (const u of env.users) {
    subs.push(subscribe({ url: r1Url, path: 'messageGroups.onChanged', input: undefined, token: u.token, countOnly: true }))
  }
  const subscriptions = followers.length + subs.length
  await opened(r1, subscriptions, metricsToken)
  env.log(`(e) delivery: ${subscriptions} subscriptions open on R1; ${options.rate} messages/s through A for ${options.deliverySec} s`)
  const deliveries: number[] = []
  const creates: number[] = []
  const pending: { key: string; started: number }[] = []
  const deadline = performance.now() + options.deliverySec * 1000
  await steady(env, options.rate, () => performance.now() > deadline, (c, from, r) => {
    creates.push(r.ms)
    pending.push({ key: `${r.uuid}:${from === c.a ? c.b : c.a}`, started: r.started })
  })
  await sleep(1000)
  let missing = 0
  for (const p of pending) {
    const at = received.get(p.key)
    if (at === undefined) missing++
    else deliveries.push(at - p.started)
  }
  env.log(`(e) delivery: ${creates.length} sent, ${missing} deliveries missing`)

  // 3. Mass reconnect: 2,000 subscribers on R1 (1,000 more beside the ones above), R1 restarted.
  const more: Follower[] = []
  for (let i = 0; followers.length + more.length < 2000; i++) {
    const c = env.conversations[i % env.conversations.length]!
    const user = env.users[i % 2 ? c.a : c.b]!
    more.push(follow(r1Url, user, c))
  }
  await opened(r1, subscriptions + more.length, metricsToken)
  for (const s of subs) s.close()
  const all = [...followers, ...more]
  // By message, not by count: a delivery of the part above arriving late is neither lost nor twice.
  const acked = new Map<string, string[]>() // conversation -> uuids of the messages acknowledged since this part began
  let flowing = true
  const flow = steady(env, options.rate, () => !flowing, (c, _from, r) => {
    const uuids = acked.get(c.uuid) ?? []
    uuids.push(r.uuid)
    acked.set(c.uuid, uuids)
  })
  await sleep(1000)
  env.log(`(e) reconnect: ${all.length} subscribers on R1; restarting it while ${options.rate} messages/s keep coming`)
  const restarted = performance.now()
  await stopChild(r1)
  r1 = await startServer('R1', rtEnv, Number(new URL(r1Url).port))
  const ackedAtRestart = new Map([...acked].map(([c, uuids]) => [c, [...uuids]]))
  const caughtUp = () => all.every((f) => (ackedAtRestart.get(f.conversation.uuid) ?? []).every((uuid) => f.seen.has(uuid)))
  for (let i = 0; !caughtUp() && i < 1200; i++) await sleep(50)
  const caughtUpSec = (performance.now() - restarted) / 1000
  await sleep(2000)
  flowing = false
  await flow
  await sleep(3000)
  let lost = 0
  let duplicated = 0
  for (const f of all) {
    for (const uuid of acked.get(f.conversation.uuid) ?? []) if (!f.seen.has(uuid)) lost++
    for (const times of f.seen.values()) duplicated += times - 1
  }
  const catchUpReads = await metric(r1, 'cruddur_subscription_catchups_total', metricsToken)
  const sent = [...acked.values()].reduce((a, b) => a + b.length, 0)
  env.log(`(e) reconnect: caught up in ${caughtUpSec.toFixed(1)} s with ${catchUpReads} DynamoDB reads; ${lost} lost, ${duplicated} duplicated`)
  for (const f of all) f.sub.close()
  await stopChild(r1)

  // 2. Memory: 5,000 idle subscriptions on a fresh instance.
  const r2 = await startServer('R2', rtEnv)
  await sleep(2000)
  const rssBefore = memoryOf(r2.pid)?.rssMb ?? NaN
  const idle: SseSubscription[] = []
  for (let i = 0; i < 5000; i++) {
    const c = env.conversations[i % env.conversations.length]!
    idle.push(subscribe({ url: r2.url, path: 'messages.onCreated', input: { messageGroupUuid: c.uuid }, token: env.users[i % 2 ? c.a : c.b]!.token, countOnly: true }))
    if (i % 500 === 499) await opened(r2, i + 1, metricsToken)
  }
  await opened(r2, idle.length, metricsToken)
  await sleep(5000)
  const rssAfter = memoryOf(r2.pid)?.rssMb ?? NaN
  for (const s of idle) s.close()
  await stopChild(r2)
  const kb = ((rssAfter - rssBefore) * 1024) / idle.length
  env.log(`(e) memory: ${idle.length} idle subscriptions, RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB: ${kb.toFixed(1)} KB each`)

  return {
    delivery: {
      subscriptions,
      rate: options.rate,
      sent: creates.length,
      deliveryMs: percentiles(deliveries),
      createMs: percentiles(creates),
      missing,
    },
    memory: { subscriptions: idle.length, rssBeforeMb: rssBefore, rssAfterMb: rssAfter, kbPerSubscription: kb },
    reconnect: { subscribers: all.length, caughtUpSec, catchUpReads, sent, lost, duplicated },
  }
}
