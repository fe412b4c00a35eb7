import t from 'tap'
import { cachingVerifier } from '../../../server/auth/token-cache.js'
import type { AccessTokenVerifier } from '../../../server/auth/verifier.js'

/** A verifier that counts its calls; tokens "bad*" fail, the rest expire at `exp`. */
function counting(exp: number) {
  const calls: string[] = []
  const inner: AccessTokenVerifier = {
    verify(token) {
      calls.push(token)
      if (token.startsWith('bad')) return Promise.reject(new Error('invalid'))
      return Promise.resolve({ sub: `sub-${token}`, exp })
    },
  }
  return { inner, calls }
}

t.test('verifies a token once in its lifetime', async (t) => {
  let now = 1_000_000
  const { inner, calls } = counting(now / 1000 + 60)
  const v = cachingVerifier(inner, { now: () => now })
  for (let i = 0; i < 5; i++) t.same(await v.verify('a'), { sub: 'sub-a', exp: now / 1000 + 60 })
  t.same(calls, ['a'])
  now += 61_000 // past exp: verified again (and the inner verifier decides)
  await v.verify('a')
  t.same(calls, ['a', 'a'])
})

t.test('never remembers a failure', async (t) => {
  const { inner, calls } = counting(Date.now() / 1000 + 60)
  const v = cachingVerifier(inner)
  await t.rejects(v.verify('bad'))
  await t.rejects(v.verify('bad'))
  t.same(calls, ['bad', 'bad'])
})

t.test('is bounded: the oldest token is forgotten', async (t) => {
  const { inner, calls } = counting(Date.now() / 1000 + 60)
  const v = cachingVerifier(inner, { max: 2 })
  await v.verify('a')
  await v.verify('b')
  await v.verify('c') // evicts a
  await v.verify('b')
  await v.verify('a')
  t.same(calls, ['a', 'b', 'c', 'a'])
})

t.test('known() answers only for the very token verified, before its exp', async (t) => {
  let now = 1_000_000
  const { inner } = counting(now / 1000 + 60)
  const v = cachingVerifier(inner, { now: () => now })
  const suffix = 'x'.repeat(40)
  const token = `first.${suffix}`
  t.equal(v.known(token), undefined, 'not before it was verified')
  await v.verify(token)
  t.same(v.known(token), { sub: `sub-${token}`, exp: now / 1000 + 60 })
  t.equal(v.known(`other.${suffix}`), undefined, 'another token with the same ending is not known')
  now += 61_000
  t.equal(v.known(token), undefined, 'not after exp')
})
