import t from 'tap'
import { windowCounter } from '../../../server/limits/window-counter.js'

t.test('counts per key within a window, refuses past the limit with the seconds left, starts over after it', (t) => {
  let clock = 1_000_000
  const c = windowCounter({ max: 3, windowMs: 60_000, now: () => clock })
  t.teardown(() => c.close())
  t.same([c.hit('a'), c.hit('a'), c.hit('a')], [0, 0, 0], 'three allowed')
  t.equal(c.hit('a'), 60, 'the fourth waits for the window: 60 s')
  t.equal(c.hit('b'), 0, 'another key has its own window')
  clock += 59_500
  t.equal(c.hit('a'), 1, 'never less than one second')
  clock += 500
  t.equal(c.hit('a'), 0, 'a new window')
  t.end()
})

t.test('memory is bounded: past maxKeys the oldest windows go first', (t) => {
  const c = windowCounter({ max: 1, windowMs: 60_000, maxKeys: 100 })
  t.teardown(() => c.close())
  for (let i = 0; i < 1000; i++) c.hit(`k${i}`)
  t.equal(c.size, 100)
  t.equal(c.hit('k999'), 60, 'a recent key is still counted')
  t.equal(c.hit('k0'), 0, 'the oldest was evicted')
  t.end()
})

t.test('ended windows are swept', async (t) => {
  const c = windowCounter({ max: 1, windowMs: 50 })
  t.teardown(() => c.close())
  for (let i = 0; i < 10; i++) c.hit(`k${i}`)
  t.equal(c.size, 10)
  await new Promise((r) => setTimeout(r, 160))
  t.equal(c.size, 0)
})

t.test('take counts several at once or none; giveBack uncounts them, never below zero', (t) => {
  let clock = 1_000_000
  const c = windowCounter({ max: 3, windowMs: 60_000, now: () => clock })
  t.teardown(() => c.close())
  t.notOk(c.take('a', 4), 'four do not fit')
  t.ok(c.take('a', 2), 'two do')
  t.notOk(c.take('a', 2), 'two more do not: nothing counted')
  t.equal(c.hit('a'), 0, 'the third hit')
  t.equal(c.hit('a'), 60, 'the fourth is refused')
  c.giveBack('a', 2)
  t.ok(c.take('a', 1), 'given back: room again')
  c.giveBack('b', 5)
  t.ok(c.take('b', 3), 'a key never taken owes nothing')
  clock += 60_000
  c.giveBack('a', 10)
  t.ok(c.take('a', 3), 'a new window holds nothing')
  c.giveBack('a', 10)
  t.ok(c.take('a', 3), 'never below zero')
  t.notOk(c.take('a', 1))
  t.end()
})
