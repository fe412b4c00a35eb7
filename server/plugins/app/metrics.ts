// One Prometheus registry per app, so several apps (tests, two instances) can share a process.
import fp from 'fastify-plugin'
import { createMetrics, type Metrics } from '../../metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export default fp(
  (app, _options, done) => {
    app.decorate('metrics', createMetrics())
    done()
  },
  { name: 'metrics' },
)
