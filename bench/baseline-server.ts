// Scenario (d)'s baseline: a bare Fastify route doing one Redis GET of the bytes server A answers
// for the same request, sent as JSON. What a cache hit could cost with no tRPC, auth or cache logic.
// Env: PORT, REDIS_URL, BASELINE_PREFIX (keys are `<prefix><key>`).
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import { writeOncePerTurn } from '../server/cache/tick-writes.js'

const port = Number(process.env.PORT ?? 0)
const prefix = process.env.BASELINE_PREFIX ?? 'baseline:'
// One write per event-loop turn, as the server's client has it (server/cache/tick-writes.ts).
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 })
writeOncePerTurn(redis)

const app = Fastify({ logger: false })
app.get('/health', () => ({ status: 'ok' }))
app.get<{ Params: { key: string } }>('/baseline/:key', async (req, reply) => {
  const body = await redis.getBuffer(prefix + req.params.key)
  if (body === null) return reply.code(404).type('application/json').send('{"error":"no such key"}')
  return reply.type('application/json').send(body)
})

const shutdown = async () => {
  await app.close()
  redis.disconnect()
  process.exit(0)
}
process.once('SIGTERM', () => void shutdown())
process.once('SIGINT', () => void shutdown())

await app.listen({ port, host: '127.0.0.1' })
