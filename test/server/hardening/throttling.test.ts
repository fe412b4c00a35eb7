// DynamoDB throttling (issue 8): retried by the SDK with backoff within the deadline, so a burst of
// throttles is invisible to the caller; throttling that outlasts the retries answers 503 with
// Retry-After, never 500. The throttles are injected inside the SDK's retry loop (the `deserialize`
// step runs on every attempt), shaped as DynamoDB sends them.
import t from 'tap'
import { testApp } from '../../helpers/app.js'
import { expectError, expectResult, q } from '../trpc/wire.js'

/** Fails the next `times` attempts of calls `when` picks with ProvisionedThroughputExceededException. */
function throttle(app: Awaited<ReturnType<typeof testApp>>, when: (command: string) => boolean, times: number) {
  let left = times
  let attempts = 0
  app.app.backends.ddb.middlewareStack.add(
    (next, context) => async (args) => {
      if (!when(context.commandName ?? '')) return next(args)
      attempts++
      if (left > 0) {
        left--
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ProvisionedThroughputExceededException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        })
      }
      return next(args)
    },
    { step: 'deserialize', name: `throttle${Math.random().toString(36).slice(2)}` },
  )
  return { attempts: () => attempts, left: () => left }
}

t.test('a few throttles are retried with backoff: the caller never sees them', async (t) => {
  const app = await testApp(t)
  const token = await app.token('bayko')
  const throttled = throttle(app, (c) => c === 'QueryCommand', 2)
  const started = performance.now()
  expectResult(t, await app.call(q('messageGroups.list', { limit: 3 }), { token }), 'answered after two throttled attempts')
  t.equal(throttled.left(), 0, 'both throttles were met')
  t.ok(throttled.attempts() >= 3, `the SDK tried again (${String(throttled.attempts())} attempts)`)
  t.ok(performance.now() - started < 10_000, 'within the deadline')
})

t.test('throttling that outlasts the retries: 503 with Retry-After', async (t) => {
  // A deadline far away, so the 503 is the throttling's own once the SDK gives up (the deadline would
  // answer 503 too: test/server/hardening/timeouts.test.ts).
  const app = await testApp(t, { env: { DDB_DEADLINE_MS: '60000' } })
  const token = await app.token('bayko')
  const throttled = throttle(app, (c) => c === 'QueryCommand', 1_000)
  const started = performance.now()
  const res = await app.call(q('messageGroups.list', { limit: 4 }), { token })
  const elapsed = performance.now() - started
  const err = expectError(t, res, 'SERVICE_UNAVAILABLE', 503, 'throttled reads')
  t.equal(err.message, 'Service temporarily unavailable', 'a generic message')
  t.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After')
  t.equal(throttled.attempts(), 5, 'the SDK tried five times (with backoff), then gave up')
  t.ok(elapsed < 60_000, `before the deadline (${elapsed.toFixed(0)} ms)`)
})
