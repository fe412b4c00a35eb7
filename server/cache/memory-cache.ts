// The in-process cache (no REDIS_URL): the same lease semantics as Redis, for one instance.
import { randomBytes } from 'node:crypto'
import { type CacheBackend, type EntryRef, MAX_FIELDS_PER_ENTITY } from './cache-backend.js'

interface Entity {
  values: Map<string, string>
  leases: Map<string, { token: string; expires: number }>
  expires: number
}

export function createMemoryCache(options: { ttlSeconds: number; leaseMs?: number; maxEntities?: number }): CacheBackend {
  const leaseMs = options.leaseMs ?? 1000
  const maxEntities = options.maxEntities ?? 10_000
  const store = new Map<string, Entity>()

  function entity(name: string, create: boolean): Entity | undefined {
    let e = store.get(name)
    if (e && e.expires <= Date.now()) {
      store.delete(name)
      e = undefined
    }
    if (!e && create) {
      e = { values: new Map(), leases: new Map(), expires: Date.now() + options.ttlSeconds * 1000 }
      store.set(name, e)
      // Map order is insertion order: the first key is the oldest entity.
      if (store.size > maxEntities) store.delete(store.keys().next().value!)
    }
    return e
  }

  return {
    kind: 'memory',
    // Synchronous work behind the backend's promise interface.
    lookup({ entity: name, field }: EntryRef) {
      const value = entity(name, false)?.values.get(field)
      return Promise.resolve(value === undefined ? { miss: '0' } : { hit: value })
    },
    hitBytes({ entity: name, field }: EntryRef) {
      const value = entity(name, false)?.values.get(field)
      return value === undefined ? undefined : Promise.resolve(Buffer.from(value))
    },
    acquire({ entity: name, field }) {
      const e = entity(name, true)!
      const current = e.leases.get(field)
      if (current && current.expires > Date.now()) return Promise.resolve(false as const)
      const token = randomBytes(8).toString('hex')
      e.leases.set(field, { token, expires: Date.now() + leaseMs })
      return Promise.resolve(token)
    },
    fill({ entity: name, field }, token, _epoch, value) {
      const e = entity(name, false)
      if (!e || e.leases.get(field)?.token !== token) return Promise.resolve(false)
      e.leases.delete(field)
      // As in Redis: an entity at its ceiling keeps what it has (the lease was intact all the same).
      if (e.values.has(field) || e.values.size < MAX_FIELDS_PER_ENTITY) e.values.set(field, value)
      return Promise.resolve(true)
    },
    release({ entity: name, field }, token) {
      const e = entity(name, false)
      if (e?.leases.get(field)?.token === token) e.leases.delete(field)
      return Promise.resolve()
    },
    invalidate(names) {
      for (const name of names) store.delete(name)
      return Promise.resolve()
    },
    status: () => 'in-process',
    close() {
      store.clear()
      return Promise.resolve()
    },
  }
}
