// Prometheus metrics of this instance.
import type { FastifyInstance } from 'fastify'

export default function metricsRoutes(app: FastifyInstance, _options: unknown, done: (err?: Error) => void): void {
  const { registry } = app.metrics
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()))
  done()
}
