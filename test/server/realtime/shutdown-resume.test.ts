// An instance sent SIGTERM mid-stream ends its streams cleanly; the client reconnects through the load
// balancer to the other instance and resumes from its last event: nothing lost, nothing twice.
import t from 'tap'
import { signAccessToken } from '../../../server/auth/access-token.js'
import { generateKeyPair } from '../../../server/auth/keys.js'
import { writeJwks } from '../../helpers/app.js'
import { testBackends } from '../../helpers/backends.js'
import { startRedis } from '../../helpers/redis-server.js'
import { startServerProcess } from '../../helpers/server-process.js'
import { onCreated, subscriberClient } from '../../helpers/subscriber.js'
import { tcpProxy } from '../../helpers/tcp-proxy.js'

const POOL = 'us-east-1_Resume1'
const CLIENT = 'resume-client'

t.test('SIGTERM mid-stream: the client resumes on the other instance', { timeout: 120_000 }, async (t) => {
  const [b, redis] = await Promise.all([testBackends(t), startRedis(t)])
  const key = generateKeyPair()
  const env = {
    DATABASE_URL: b.databaseUrl,
    AWS_ENDPOINT_URL_DYNAMODB: b.dynamoEndpoint,
    DDB_MESSAGE_TABLE: b.table,
    REDIS_URL: redis.url,
    CACHE_KEY_PREFIX: `resume-${Math.random().toString(36).slice(2)}`,
    COGNITO_USER_POOL_ID: POOL,
    COGNITO_CLIENT_ID: CLIENT,
    COGNITO_JWKS_FILE: await writeJwks(key),
  }
  const [one, two] = await Promise.all([startServerProcess(t, env), startServerProcess(t, env)])
  // The load balancer: new connections go to the first instance that accepts them.
  const balancer = await tcpProxy(t, [
    { host: '127.0.0.1', port: one.port },
    { host: '127.0.0.1', port: two.port },
  ])
  const token = async (handle: string) => {
    const user = (await b.users.findByHandle(handle))!
    return signAccessToken(key, { sub: user.cognitoUserId!, userPoolId: POOL, clientId: CLIENT })
  }
  const sender = subscriberClient(two.url, await token('andrewbrown'))
  const group = (await sender.messages.create.mutate({ handle: 'bayko', message: 'start' })).messageGroupUuid
  const got = onCreated(subscriberClient(`http://127.0.0.1:${balancer.port}`, await token('bayko')), group)
  t.teardown(() => { got.stop() })
  // Subscribed once a message gets through (what was created before that is not "from now on").
  for (let i = 0; got.events.length === 0 && i < 100; i++) {
    await sender.messages.create.mutate({ messageGroupUuid: group, message: 'probe' })
    await new Promise((r) => setTimeout(r, 100))
  }
  const probes = got.events.length
  t.match(one.log(), /messages\.onCreated/, 'the subscription is served by the first instance')

  const sent: string[] = []
  const state = { sending: true }
  const loop = (async () => {
    for (let i = 0; state.sending; i++) {
      sent.push((await sender.messages.create.mutate({ messageGroupUuid: group, message: `flowing ${i}` })).message.uuid)
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  await got.until((e) => e.length >= probes + 5, 10_000, 'the first messages')
  const code = await one.signal('SIGTERM')
  t.equal(code, 0, 'the first instance stops cleanly')
  t.match(one.log(), /shutting down/)
  await new Promise((r) => setTimeout(r, 5_000)) // the client reconnects (after ~3 s) while messages flow
  state.sending = false
  await loop
  await got.until((e) => e.length >= probes + sent.length, 15_000, 'every message, through the second instance')
  await new Promise((r) => setTimeout(r, 300))
  t.same(got.events.slice(probes).map((e) => e.data.uuid), sent, 'every message sent, in order, once')
  t.same(got.errors, [], 'the subscriber saw no error')
  t.match(two.log(), /messages\.onCreated/, 'the second instance serves the resumed stream')
  t.notOk(/"level":50/.test(one.log()), 'no errors logged by the stopping instance')
  t.ok(balancer.connections() >= 2, 'the client connected again')
})
