// The same error cases with NODE_ENV=production set before any server module loads (tRPC reads it
// once, when the router is created): the answers must be just as clean.
import t from 'tap'

process.env.NODE_ENV = 'production'
const { appRouter } = await import('../../../server/trpc/router.js')
const { errorSuite } = await import('./error-suite.js')

t.equal(appRouter._def._config.isDev, false, 'tRPC runs in production mode here')
t.test('errors (NODE_ENV=production)', (t) => errorSuite(t))
