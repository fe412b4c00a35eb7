// What counts as an outage (503, retry later) and what is a bug (500), by the errors' own shapes.
import t from 'tap'
import { DeadlineExceeded, isOutage } from '../../../server/lib/outage.js'

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra })

t.test('DynamoDB throttling and outages, network failures and deadlines are outages', (t) => {
  for (const name of ['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'InternalServerError', 'ServiceUnavailable']) {
    t.ok(isOutage(named(name, { $fault: 'client', $metadata: { httpStatusCode: 400 } })), name)
  }
  t.ok(isOutage(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })), 'a refused connection')
  t.ok(isOutage(new DeadlineExceeded('DynamoDB', 10_000)), 'a deadline')
  t.ok(isOutage(named('Oops', { $metadata: { httpStatusCode: 503 } })), 'an HTTP 503 from the service')
  t.ok(isOutage(new Error('wrapped', { cause: named('ThrottlingException') })), 'found down the cause chain')
  t.ok(isOutage(new AggregateError([new Error('a'), Object.assign(new Error('b'), { code: 'ETIMEDOUT' })])), 'inside an AggregateError')
  t.end()
})

t.test('anything else is not: a bug stays a 500', (t) => {
  t.notOk(isOutage(new Error('x is undefined')))
  t.notOk(isOutage(named('ValidationException', { $metadata: { httpStatusCode: 400 } })), "DynamoDB's refusal of a bad request")
  t.notOk(isOutage(named('ConditionalCheckFailedException')))
  t.notOk(isOutage(null))
  t.notOk(isOutage('ECONNREFUSED'))
  t.end()
})
