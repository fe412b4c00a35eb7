// Verifies each token once in its lifetime: a bounded map of verified tokens, each dropped at its
// `exp`. Failures are never remembered, so a token that failed once is checked again in full.
import { boundedMap } from '../lib/bounded-map.js'

/** What a verification yields: at least the expiry (seconds since the epoch). */
interface Expiring {
  exp: number
}

export function cachingVerifier<T extends Expiring>(
  inner: { verify(token: string): Promise<T> },
  options: { max?: number; now?: () => number } = {},
): { verify(token: string): Promise<T>; known(token: string): T | undefined } {
  const max = options.max ?? 10_000
  const now = options.now ?? Date.now
  // Keyed by the end of the signature (a short key hashes fast; this runs on every request). The
  // whole token must still match, so a token sharing that end is verified, and fails, like any other.
  const verified = boundedMap<string, { token: string; result: T }>(max)
  const keyOf = (token: string) => token.slice(-32)

  function known(token: string): T | undefined {
    const key = keyOf(token)
    const entry = verified.get(key)
    if (!entry || entry.token !== token) return undefined
    if (entry.result.exp * 1000 > now()) return entry.result
    verified.delete(key)
    return undefined
  }

  return {
    known,
    async verify(token) {
      const hit = known(token)
      if (hit) return hit
      const result = await inner.verify(token) // throws: nothing stored
      verified.set(keyOf(token), { token, result })
      return result
    },
  }
}
