// The error cases of API.md with the app as tests build it (NODE_ENV not production: tRPC's isDev
// is on, so only the app's error formatter keeps stacks out).
import t from 'tap'
import { appRouter } from '../../../server/trpc/router.js'
import { errorSuite } from './error-suite.js'

t.not(process.env.NODE_ENV, 'production')
t.equal(appRouter._def._config.isDev, true, 'tRPC runs in development mode here')
t.test('errors (development mode)', (t) => errorSuite(t))
