// Verifies each token once in its lifetime: a bounded map of verified tokens, each dropped at its
// `exp`. Failures are never remembered, so a token that failed once is checked again in full.
import { boundedMap } from '../lib/bounded-map.js'
import type { AccessTokenVerifier, VerifiedToken } from './verifier.js'

export function cachingVerifier(inner: AccessTokenVerifier, options: { max?: number; now?: () => number } = {}): AccessTokenVerifier {
  const max = options.max ?? 10_000
  const now = options.now ?? Date.now
  const verified = boundedMap<string, VerifiedToken>(max)
  return {
    async verify(token) {
      const known = verified.get(token)
      if (known) {
        if (known.exp * 1000 > now()) return known
        verified.delete(token)
      }
      const result = await inner.verify(token) // throws: nothing stored
      verified.set(token, result)
      return result
    },
  }
}
