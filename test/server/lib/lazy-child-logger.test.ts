// Fastify's per-request child logger is made only when the request logs at an enabled level, and then
// writes what pino's own child would (bindings included).
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { lazyChildLogger } from '../../../server/lib/lazy-child-logger.js'

function logger(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  return { root: pino({ level }, stream), lines }
}

t.test('no child is made for a request that logs nothing at an enabled level', (t) => {
  const { root, lines } = logger('warn')
  let made = 0
  const child = root.child.bind(root)
  root.child = ((...args: Parameters<typeof child>) => {
    made++
    return child(...args)
  }) as typeof root.child
  const log = lazyChildLogger(root, { reqId: 'req-1' }, {})
  log.info({ req: {} }, 'incoming request')
  log.debug('details')
  t.equal(made, 0, 'info and debug are off: nothing made')
  log.warn({ n: 1 }, 'slow')
  t.equal(made, 1, 'made on the first enabled line')
  log.error('and again')
  t.equal(made, 1, 'and kept')
  t.match(lines, [{ level: 40, reqId: 'req-1', n: 1, msg: 'slow' }, { level: 50, reqId: 'req-1', msg: 'and again' }])
  t.equal(log.level, 'warn')
  t.end()
})

t.test('a route with a level of its own, or a logger that is not pino, gets a child at once', (t) => {
  const { root, lines } = logger('info')
  const log = lazyChildLogger(root, { reqId: 'req-2' }, { level: 'error' })
  log.warn('dropped: the route logs errors only')
  log.error('kept')
  t.match(lines, [{ reqId: 'req-2', msg: 'kept' }])
  t.equal(lines.length, 1)
  const plain = { info() {}, error() {}, debug() {}, fatal() {}, warn() {}, trace() {}, silent() {}, level: 'info', child: () => plain }
  t.equal(lazyChildLogger(plain, { reqId: 'x' }, {}), plain, "without a logger, Fastify's null logger is its own child")
  t.end()
})
