// Prometheus metrics of this instance.
import type { FastifyInstance } from 'fastify'

export default async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const { registry } = app.metrics
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()))
}
