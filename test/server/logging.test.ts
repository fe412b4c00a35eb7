// Request logs (pino) record each request, and never a token.
import { Writable } from 'node:stream'
import t from 'tap'
import { logsRequests } from '../../server/server.js'
import { testApp } from '../helpers/app.js'

t.test('request logs never carry the bearer token', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const app = await testApp(t, { logger: { level: 'trace', stream } })
  const token = await app.token('andrewbrown')
  await app.call('/trpc/users.me', { token })
  await app.call('/trpc/messageGroups.list?batch=1&input=%7B%7D', { token })
  await app.call('/trpc/messages.create', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle: 'bayko', message: 'logged?' }),
  })
  await app.call('/trpc/users.me', { token: `${token}x` })
  const log = lines.join('')
  t.match(log, /"url":"\/trpc\/users.me"/, 'requests are logged')
  t.match(log, /"statusCode":401/, 'responses are logged')
  t.notOk(log.includes(token.split('.')[2]!), 'no token signature in the logs')
  t.notOk(log.includes(token.split('.')[1]!), 'no token payload in the logs')
  t.notOk(/authorization/i.test(log), 'no authorization header in the logs')
})

t.test('request lines are built only when their level (info) is written', async (t) => {
  for (const [level, logged] of [['info', true], ['debug', true], ['warn', false], ['silent', false]] as const) {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const app = await testApp(t, { logger: { level, stream } })
    const token = await app.token('andrewbrown')
    // A request's logger asks the root whether info is on before it builds a line (lazy-child-logger.ts):
    // counting those questions shows whether Fastify tried to log the request at all.
    const root = app.app.log as typeof app.app.log & { isLevelEnabled(level: string): boolean }
    const asks = root.isLevelEnabled.bind(root)
    let infoAsked = 0
    root.isLevelEnabled = (l: string) => {
      if (l === 'info') infoAsked++
      return asks(l)
    }
    await app.call('/trpc/users.me', { token })
    root.isLevelEnabled = asks
    t.equal(lines.some((l) => l.includes('"msg":"request completed"')), logged, `${level}: request lines ${logged ? '' : 'not '}written`)
    if (!logged) t.equal(infoAsked, 0, `${level}: no request line even attempted`)
  }
  // Below info, Fastify's request logging is off altogether (it would build each line to drop it).
  t.equal(logsRequests({ level: 'warn' }), false)
  t.equal(logsRequests({ level: 'trace' }), true)
  t.equal(logsRequests(false), false)
  t.equal(logsRequests(true), true)
  t.equal(logsRequests({}), true, "pino's default level is info")
})
