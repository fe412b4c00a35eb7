// The bench's percentiles (bench/tally.ts): nearest rank, as the reports read them.
import t from 'tap'
import { percentiles } from '../../bench/tally.js'

t.test("percentiles are nearest-rank over the samples", async (t) => {
  const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i)) // 1..100, unsorted
  t.match(p, { p50: 50, p90: 90, p97_5: 98, p99: 99, p99_9: 100, max: 100, mean: 50.5 })
  t.ok(Number.isNaN(percentiles([]).p99), 'no samples, no percentile')
})
