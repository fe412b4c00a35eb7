// Scenario (c): a mixed load (95 % reads, 5 % writes) over one or two instances, every answer checked
// for read-your-writes against the writes acknowledged before the read started.
import { trpcData } from './fixtures.js'
import type { Op } from './http-driver.js'
import { closedLoop, openLoop } from './load.js'
import { cacheDelta, cacheSum, CpuMeter, fromOpenLoop, type Measure, scenarioResult, scrapeCache } from './measure.js'
import { GROUPS_PATH, messagesPath } from './requests.js'
import type { Consistency, ScenarioResult } from './scenario-result.js'
import type { Env } from './scenarios.js'
import { type Child, memoryOf } from './servers.js'

interface Ack {
  uuid: string
  createdAt: string
}

interface MessagePage {
  items: { uuid: string; createdAt: string }[]
}

interface GroupsPage {
  items: { uuid: string; createdAt: string }[]
}

/** 95% reads (3/4 messages.list limit 100, 1/4 messageGroups.list), 5% writes, over `servers`. */
export function mixedLoad(env: Pick<Env, 'users' | 'conversations'>, servers: string[]) {
  const acked = new Map<string, Ack[]>()
  const stats: Consistency = { writes: 0, messageReads: 0, groupReads: 0, staleMessageReads: 0, staleGroupReads: 0, failedWrites: 0 }
  let seq = 0
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!

  const next = (): Op => {
    const url = pick(servers)
    const conv = pick(env.conversations)
    const user = env.users[Math.random() < 0.5 ? conv.a : conv.b]!
    const headers = { authorization: user.authorization }
    const r = Math.random()
    if (r < 0.05) {
      const text = `mixed load ${++seq}`
      return {
        method: 'POST',
        url,
        path: '/trpc/messages.create',
        headers,
        body: JSON.stringify({ message: text, messageGroupUuid: conv.uuid }),
        check(status, body) {
          try {
            const data = trpcData(status, body) as { message: Ack }
            stats.writes++
            const list = acked.get(conv.uuid) ?? []
            list.push({ uuid: data.message.uuid, createdAt: data.message.createdAt })
            acked.set(conv.uuid, list)
            return true
          } catch {
            stats.failedWrites++
            return false
          }
        },
      }
    }
    if (r < 0.05 + 0.95 * 0.75) {
      // What was acknowledged before this read starts.
      const expected = (acked.get(conv.uuid) ?? []).slice()
      return {
        method: 'GET',
        url,
        path: messagesPath(conv.uuid, 100),
        headers,
        check(status, body) {
          stats.messageReads++
          const page = trpcData(status, body) as MessagePage
          const have = new Set(page.items.map((m) => m.uuid))
          const oldest = page.items[0]?.createdAt
          // A full page may have pushed an acknowledged message to the next page: only then may it be absent.
          const ok = expected.every((a) => have.has(a.uuid) || (page.items.length === 100 && oldest !== undefined && a.createdAt < oldest))
          if (!ok) stats.staleMessageReads++
          return ok
        },
      }
    }
    const latest = new Map<string, string>()
    for (const g of user.groups) {
      const list = acked.get(g)
      if (list?.length) latest.set(g, list.reduce((m, a) => (a.createdAt > m ? a.createdAt : m), ''))
    }
    return {
      method: 'GET',
      url,
      path: GROUPS_PATH,
      headers,
      check(status, body) {
        stats.groupReads++
        const [first] = JSON.parse(body) as { result?: { data: GroupsPage } }[]
        const items = first?.result?.data.items ?? []
        const shown = new Map(items.map((g) => [g.uuid, g.createdAt]))
        const ok = [...latest].every(([g, at]) => (shown.get(g) ?? '') >= at)
        if (!ok) stats.staleGroupReads++
        return ok
      },
    }
  }
  return { next, stats }
}

export async function scenarioC(env: Env, servers: Child[], id: string, label: string): Promise<ScenarioResult> {
  const { options } = env
  const urls = servers.map((s) => s.url)
  const { next, stats } = mixedLoad(env, urls)
  env.log(`(c) ${label}: warm-up ${options.warmupSec}s`)
  await closedLoop(env.driver, { durationSec: options.warmupSec, concurrency: options.connections, next, signal: env.signal })
  const w0 = servers.map((s) => s.warnings())
  const before = await Promise.all(urls.map((u) => scrapeCache(env.driver, u, env.metricsToken)))

  env.log(`  throughput ${options.durationSec}s, ${options.connections} concurrent`)
  const pids = servers.map((s) => s.pid)
  const meter = new CpuMeter(pids, env.dynalite.pid)
  meter.start()
  const t = await closedLoop(env.driver, { durationSec: options.durationSec, concurrency: options.connections, next, signal: env.signal })
  meter.stop()
  const cpu = meter.summary(t.completed)
  const rate = Math.max(1, Math.round(t.rps * options.latencyLoad))
  env.log(`  fixed rate ${rate}/s for ${options.durationSec}s (open loop)`)
  // Closed-loop workers kept every connection open: the open loop starts on them.
  const f = await openLoop(env.driver, { rate, durationSec: options.durationSec, pacing: options.pacing, next, signal: env.signal })
  const after = await Promise.all(urls.map((u) => scrapeCache(env.driver, u, env.metricsToken)))
  const cache = before.map((b, i) => cacheDelta(b, after[i]!)).reduce(cacheSum)

  const m: Measure = {
    throughput: {
      driver: 'closed-loop',
      rps: t.rps,
      completed: t.completed,
      durationSec: t.durationSec,
      errors: t.errors,
      non2xx: t.non2xx,
      saturatedLatency: { p50: t.latency.p50, p97_5: t.latency.p97_5, p99: t.latency.p99 },
    },
    fixedRate: fromOpenLoop(f),
    cache,
    cpu,
    warnings: servers.reduce((a, s, i) => a + s.warnings() - w0[i]!, 0),
    warningLines: servers.flatMap((s, i) => s.warningLines().slice(w0[i], w0[i]! + 5)),
  }
  const memoryByServer = Object.fromEntries(servers.map((s) => [s.name, memoryOf(s.pid)]))
  return scenarioResult(
    id,
    label,
    `Mixed load over ${servers.map((s) => s.name).join(' and ')}${servers.length > 1 ? ' (sharing Redis, requests spread at random)' : ''}: ` +
      '95% reads (3/4 messages.list limit 100, 1/4 messageGroups.list), 5% messages.create, checking read-your-writes (warm-up included)',
    servers[0]!,
    m,
    {
      consistency: { ...stats },
      ...(servers.length > 1 ? { memoryByServer } : {}),
      target: servers.map((s) => s.name).join(' + '),
    },
  )
}
