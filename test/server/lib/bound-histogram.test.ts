// The bound histogram must read, in /metrics, exactly as prom-client's own Histogram does for the same
// observations: names, label order, cumulative buckets, +Inf, sum and count.
import { Histogram, Registry } from 'prom-client'
import t from 'tap'
import { BoundHistogram } from '../../../server/lib/bound-histogram.js'

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
const name = 'cruddur_trpc_request_duration_seconds'

t.test('the same exposition as prom-client for the same observations', async (t) => {
  const ours = new Registry()
  const theirs = new Registry()
  const bound = new BoundHistogram(name, 'Procedure latency', ['procedure'], BUCKETS, [ours])
  const reference = new Histogram({ name, help: 'Procedure latency', labelNames: ['procedure'], buckets: BUCKETS, registers: [theirs] })
  const values = [0, 0.0004, 0.0005, 0.0007, 0.003, 0.04, 0.2, 0.9, 2.5, 3, 42, 0.00051]
  for (const [i, v] of values.entries()) {
    const procedure = i % 3 === 0 ? 'messages.list' : 'messageGroups.list'
    bound.child({ procedure }).observe(v)
    reference.observe({ procedure }, v)
  }
  t.equal(await ours.metrics(), await theirs.metrics())
  // A child handed out earlier keeps counting into the same series.
  const kept = bound.child({ procedure: 'users.me' })
  kept.observe(0.001)
  kept.observe(0.001)
  reference.observe({ procedure: 'users.me' }, 0.001)
  reference.observe({ procedure: 'users.me' }, 0.001)
  t.equal(await ours.metrics(), await theirs.metrics(), 'series added later, observed through a kept child')
  bound.reset()
  reference.reset()
  const afterReset = await ours.metrics()
  t.match(afterReset, /_count\{procedure="users\.me"\} 0\n/, 'reset zeroes the counts')
  t.match(afterReset, /_bucket\{le="\+Inf",procedure="messages\.list"\} 0\n/, 'and the buckets')
  t.match(afterReset, /_sum\{procedure="messageGroups\.list"\} 0\n/, 'and the sums')
})
