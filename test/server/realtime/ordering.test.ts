// Order and gaps: a message written slowly is delivered before a later one that was written fast;
// a reserved place whose message is never written is settled at once when its writer can say so
// (a tombstone), and passed after the write window when it cannot; pings keep idle streams alive;
// the token of a subscription never reaches the logs.
import { Writable } from 'node:stream'
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { injectFault } from '../../helpers/ddb-faults.js'
import { onCreated, opened, subscriberClient } from '../../helpers/subscriber.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a slow write is delivered before the later ones that overtook it', async (t) => {
  const app = await testApp(t)
  const brown = subscriberClient(app.url, await app.token('andrewbrown'))
  const group = (await brown.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const got = onCreated(subscriberClient(app.url, await app.token('bayko')), group)
  t.teardown(() => { got.stop() })
  await opened(() => app.metrics.registry.metrics(), 1)
  // The next message's DynamoDB write takes 800 ms; the two after it are written at once.
  let slowed = false
  app.app.backends.ddb.middlewareStack.add(
    (next) => async (args) => {
      const item = (args.input as { Item?: { pk?: { S?: string } | string } }).Item
      const pk = typeof item?.pk === 'string' ? item.pk : item?.pk?.S
      if (!slowed && pk?.startsWith('MSG#')) {
        slowed = true
        await sleep(800)
      }
      return next(args)
    },
    { step: 'initialize', name: 'slowFirstMessageWrite' },
  )
  const slow = brown.messages.create.mutate({ messageGroupUuid: group, message: 'slow' })
  await sleep(100)
  const fast = await Promise.all([
    brown.messages.create.mutate({ messageGroupUuid: group, message: 'fast 1' }),
    brown.messages.create.mutate({ messageGroupUuid: group, message: 'fast 2' }),
  ])
  await sleep(200)
  t.same(got.events, [], 'the later messages wait for the slow one (their place comes after it)')
  await slow
  await got.until((e) => e.length === 3, 5_000)
  t.same(got.events.map((e) => e.data.message), ['slow', ...fast.map((f) => f.message.message).sort()], 'in sort-key order')
  const ids = got.events.map((e) => e.id)
  t.same([...ids].sort(), ids)
})

t.test('a place that never gets its message: settled at once when possible, passed after the write window otherwise', async (t) => {
  const app = await testApp(t, { writeWindowMs: 600 })
  const brown = subscriberClient(app.url, await app.token('andrewbrown'))
  const group = (await brown.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const got = onCreated(subscriberClient(app.url, await app.token('bayko')), group)
  t.teardown(() => { got.stop() })
  await opened(() => app.metrics.registry.metrics(), 1)
  const create = (message: string) =>
    app.call('/trpc/messages.create', {
      method: 'POST',
      token: undefined,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOfBrown}` },
      body: JSON.stringify({ messageGroupUuid: group, message }),
    })
  const tokenOfBrown = await app.token('andrewbrown')

  // 1. The message write fails; the writer buries its place (a tombstone): no wait for anyone.
  injectFault(app.app.backends.ddb, { phase: 'before', when: (c) => c.command === 'PutItemCommand' && c.pk?.startsWith('MSG#') === true })
  t.ok((await create('lost 1')).status >= 500, 'the create fails')
  const started = Date.now()
  await create('after a tombstone')
  await got.until((e) => e.length === 1, 5_000)
  t.ok(Date.now() - started < 1000, `delivered without waiting for the window (${Date.now() - started} ms)`)

  // 2. The message write and the tombstone both fail: the place stays empty until the window is over.
  injectFault(app.app.backends.ddb, { phase: 'before', times: 2, when: (c) => c.command === 'PutItemCommand' && c.pk?.startsWith('MSG#') === true })
  t.ok((await create('lost 2')).status >= 500)
  const waiting = Date.now()
  await create('after a gap')
  await got.until((e) => e.length === 2, 10_000)
  const waited = Date.now() - waiting
  t.ok(waited >= 2 * 600, `the next message waited for the window (${waited} ms)`)
  t.same(got.events.map((e) => e.data.message), ['after a tombstone', 'after a gap'])
  t.match(await app.metrics.registry.metrics(), /cruddur_subscription_gaps_skipped_total 1/)
})

t.test('idle streams get keep-alive pings; the subscription token is never logged', { timeout: 60_000 }, async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const app = await testApp(t, { logger: { level: 'trace', stream } })
  const brown = subscriberClient(app.url, await app.token('andrewbrown'))
  const group = (await brown.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const token = await app.token('bayko')
  const params = new URLSearchParams({ connectionParams: JSON.stringify({ token }), input: JSON.stringify({ messageGroupUuid: group }) })
  const controller = new AbortController()
  const res = await fetch(`${app.url}/trpc/messages.onCreated?${params}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /text\/event-stream/)
  const reader = res.body!.getReader()
  let text = ''
  const deadline = Date.now() + 15_000
  while (!text.includes('event: ping') && Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  controller.abort()
  t.match(text, /event: connected/)
  t.match(text, /event: ping/, 'a ping within the ping interval')
  const log = lines.join('')
  t.match(log, /messages\.onCreated/, 'the subscription request is logged')
  t.notOk(log.includes(token.split('.')[2]!), 'without the token signature')
  t.notOk(log.includes(token.split('.')[1]!), 'without the token payload')
  t.match(log, /connectionParams=%5Bredacted%5D/, 'its connection parameters redacted')
})
