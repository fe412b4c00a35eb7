// A cache backend passed through as it is, but for the methods a test replaces (to slow or count
// them); each replacement gets the wrapped cache to call.
import type { CacheBackend } from '../../server/cache/cache-backend.js'

type Overrides = { [K in Exclude<keyof CacheBackend, 'kind'>]?: (cache: CacheBackend, ...args: Parameters<CacheBackend[K]>) => ReturnType<CacheBackend[K]> }

export function wrappedCache(overrides: Overrides): (cache: CacheBackend) => CacheBackend {
  return (cache) => ({
    kind: cache.kind,
    lookup: (ref) => (overrides.lookup ? overrides.lookup(cache, ref) : cache.lookup(ref)),
    hitBytes: (ref) => (overrides.hitBytes ? overrides.hitBytes(cache, ref) : cache.hitBytes(ref)),
    acquire: (ref) => (overrides.acquire ? overrides.acquire(cache, ref) : cache.acquire(ref)),
    fill: (ref, token, epoch, value) => (overrides.fill ? overrides.fill(cache, ref, token, epoch, value) : cache.fill(ref, token, epoch, value)),
    release: (ref, token) => (overrides.release ? overrides.release(cache, ref, token) : cache.release(ref, token)),
    invalidate: (names) => (overrides.invalidate ? overrides.invalidate(cache, names) : cache.invalidate(names)),
    status: () => (overrides.status ? overrides.status(cache) : cache.status()),
    close: () => (overrides.close ? overrides.close(cache) : cache.close()),
  })
}
