// Command deadlines without a timer per command (server/cache/command-deadlines.ts): a command Redis
// does not answer is rejected about the timeout after it was written, each on its own clock; answered
// ones never are; a late reply changes nothing; the check stops with the client.
import { Redis } from 'ioredis'
import t from 'tap'
import { keepCommandDeadlines } from '../../../server/cache/command-deadlines.js'
import { startRedis } from '../../helpers/redis-server.js'
import { sleep, waitFor } from './cache-utils.js'

t.test('a command left unanswered is rejected a timeout after it was written, each on its own clock', async (t) => {
  const redis = await startRedis(t)
  // Without auto-pipelining, so that the second command is written when sent (an auto-pipeline waits
  // for the one before it to settle, with ioredis's own timeout as with this).
  const client = new Redis(redis.url, { enableAutoPipelining: false, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  keepCommandDeadlines(client, 200)
  t.teardown(() => client.disconnect())
  t.ok(await waitFor(() => client.status === 'ready', 5000))
  t.equal(await client.set('k', 'v'), 'OK', 'answered commands are not touched')
  for (let i = 0; i < 50; i++) await client.get('k') // well within the timeout, many checks in between

  redis.pause()
  const settled = (p: Promise<unknown>, started: number) =>
    p.then(
      () => ({ ok: true, ms: performance.now() - started, message: '' }),
      (err: unknown) => ({ ok: false, ms: performance.now() - started, message: (err as Error).message }),
    )
  const firstAt = performance.now()
  const first = settled(client.get('k'), firstAt)
  await sleep(120)
  const secondAt = performance.now()
  const second = settled(client.get('k'), secondAt)
  const [a, b] = await Promise.all([first, second])
  redis.resume()
  for (const [label, r] of [['first', a], ['second', b]] as const) {
    t.notOk(r.ok, `${label}: rejected`)
    t.equal(r.message, 'Command timed out', `${label}: as ioredis's own timeout says`)
    // Rejected within one check (20 ms) of 200 ms after it was written, plus the machine's slack.
    t.ok(r.ms >= 195 && r.ms < 300, `${label}: after ${r.ms.toFixed(0)} ms`)
  }
  t.ok(secondAt - firstAt >= 100, 'the second was written later, and timed on its own clock')

  // Redis answers the two late: nothing happens to them, and the connection goes on.
  t.equal(await client.get('k'), 'v', 'the connection still answers in order')
})

t.test('the check stops with the client', async (t) => {
  const redis = await startRedis(t)
  const client = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 })
  const deadlines = keepCommandDeadlines(client, 100)
  t.ok(await waitFor(() => client.status === 'ready', 5000))
  t.ok(deadlines.active)
  await client.quit()
  t.ok(await waitFor(() => !deadlines.active, 2000), 'stopped once the client ended')
})
