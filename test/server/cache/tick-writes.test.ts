// One socket write per event-loop turn (server/cache/tick-writes.ts): the commands a turn sends go to
// Redis in one write, on one node and on each node of a cluster, answered in order; commands of later
// turns go in writes of their own.
import type { Cluster, Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { createRedisClient, type RedisClient } from '../../../server/cache/redis-client.js'
import { startRedis, startRedisCluster } from '../../helpers/redis-server.js'
import { waitFor } from './cache-utils.js'

/** Counts the writes that reach a connection's socket (a corked socket flushes through one `_writev`). */
function countWrites(connection: Redis): { writes: number } {
  const socket = connection.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void }
  const counter = { writes: 0 }
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name]
    socket[name] = function (this: unknown, ...args: unknown[]) {
      counter.writes++
      original.apply(this, args)
    }
  }
  return counter
}

const connect = async (t: Test, config: Parameters<typeof createRedisClient>[0]): Promise<RedisClient> => {
  const client = createRedisClient(config)!
  t.teardown(() => client.disconnect())
  t.ok(await waitFor(() => client.status === 'ready', 10_000), 'ready')
  return client
}

t.test('one node: a turn\'s commands in one write, later turns in writes of their own', async (t) => {
  const redis = await startRedis(t)
  const client = (await connect(t, { redis: { kind: 'single', url: redis.url }, redisCommandTimeoutMs: 1000 })) as Redis
  await client.mset(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, `v${i}`])))
  const socket = countWrites(client)

  const values = await Promise.all(Array.from({ length: 25 }, (_, i) => client.get(`k${i}`)))
  t.same(values, Array.from({ length: 25 }, (_, i) => `v${i}`), 'each answer to its command')
  t.equal(socket.writes, 1, '25 commands of one turn: one write')

  socket.writes = 0
  for (let i = 0; i < 3; i++) t.equal(await client.get(`k${i}`), `v${i}`)
  t.equal(socket.writes, 3, 'one command a turn: a write each')

  // A turn's commands wait for nothing but the turn: the next turn's go while the first are unanswered.
  socket.writes = 0
  const first = Promise.all([client.get('k1'), client.get('k2')])
  const second = new Promise((resolve) => setImmediate(() => resolve(Promise.all([client.get('k3'), client.get('k4')]))))
  t.same(await Promise.all([first, second]), [['v1', 'v2'], ['v3', 'v4']])
  t.equal(socket.writes, 2, 'two turns: two writes')
})

t.test('a cluster: each node connection, made after the client, writes a turn\'s commands at once', async (t) => {
  const cluster = await startRedisCluster(t, 3)
  const client = await connect(t, { redis: { kind: 'cluster', nodes: cluster.nodes }, redisCommandTimeoutMs: 1000 })
  const keys = Array.from({ length: 60 }, (_, i) => `spread:${i}`)
  for (const key of keys) await client.set(key, key) // connects every master
  const nodes = (client as Cluster).nodes('master')
  t.equal(nodes.length, 3)
  const counters = nodes.map(countWrites)

  t.same(await Promise.all(keys.map((k) => client.get(k))), keys, 'each answer to its command')
  t.same(counters.map((c) => c.writes), [1, 1, 1], 'one write to each master for 60 commands spread over them')
})
