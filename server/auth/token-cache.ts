// Verifies each token once in its lifetime: a bounded map of verified tokens, each dropped at its
// `exp`. Failures are never remembered, so a token that failed once is checked again in full.
import { boundedMap } from '../lib/bounded-map.js'
import type { AccessTokenVerifier, VerifiedToken } from './verifier.js'

export function cachingVerifier(inner: AccessTokenVerifier, options: { max?: number; now?: () => number } = {}): AccessTokenVerifier {
  const max = options.max ?? 10_000
  const now = options.now ?? Date.now
  // Keyed by the signature (a short key hashes faster than the whole token); the full token must
  // still match, so a forged token reusing a signature is verified, and fails, like any other.
  const verified = boundedMap<string, { token: string; result: VerifiedToken }>(max)
  const keyOf = (token: string) => token.slice(token.lastIndexOf('.') + 1)
  return {
    async verify(token) {
      const key = keyOf(token)
      const known = verified.get(key)
      if (known && known.token === token) {
        if (known.result.exp * 1000 > now()) return known.result
        verified.delete(key)
      }
      const result = await inner.verify(token) // throws: nothing stored
      verified.set(key, { token, result })
      return result
    },
  }
}
