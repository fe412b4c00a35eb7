// Prometheus metrics of this instance. With METRICS_TOKEN set, only `Authorization: Bearer <token>`
// reads them (a scraper holds the token; the API's callers do not). Without it they are open outside
// production, for development and the bench, and not served at all in production.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

export default function metricsRoutes(app: FastifyInstance, { config }: { config: Pick<Config, 'metricsToken' | 'production'> }, done: () => void): void {
  const { registry } = app.metrics
  const token = config.metricsToken
  if (token === undefined && config.production) {
    done()
    return
  }
  app.get('/metrics', async (req, reply) => {
    void reply.header('cache-control', 'no-store')
    if (token !== undefined) {
      const header = req.headers.authorization ?? ''
      if (!header.startsWith('Bearer ') || !sameSecret(header.slice(7), token)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'metrics need the configured bearer token' })
      }
    }
    return reply.type(registry.contentType).send(await registry.metrics())
  })
  done()
}
