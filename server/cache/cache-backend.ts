// What a cache backend offers the read path: memcache-style leases, so a fill that raced a write is
// refused (the stale-set race of cache-aside, docs/design.md), and an epoch that retires every older entry.
import { handleKey } from '@cruddur/contracts'

/** One cached value: `entity` is what a write invalidates as a whole, `field` one variant of it. */
export interface EntryRef {
  entity: string
  field: string
}

export type Lookup =
  /** The value, as stored. */
  | { hit: string }
  /** No usable value; `epoch` tags a later fill. */
  | { miss: string }

export type CacheStatus = 'up' | 'degraded' | 'in-process' | 'off'

export interface CacheBackend {
  readonly kind: 'redis' | 'memory' | 'off'
  /** null when the cache cannot be used right now (the caller reads the source). */
  lookup(ref: EntryRef): Promise<Lookup | null>
  /**
   * A hit's stored bytes, or undefined for anything else (a miss, an entry of an older epoch, an
   * unusable cache): the GET fast path's one read, sent as it is (values are stored as answers).
   */
  hitBytes(ref: EntryRef): Promise<Buffer | undefined> | undefined
  /** A lease token; false while another reader holds the lease; null when the cache is unusable. */
  acquire(ref: EntryRef): Promise<string | false | null>
  /** Stores the value if the lease is still ours (no invalidation since acquire). */
  fill(ref: EntryRef, token: string, epoch: string, value: string): Promise<boolean>
  /** Gives a lease back unused (nothing to store), so other readers need not wait for it. */
  release(ref: EntryRef, token: string): Promise<void>
  /** Drops entities and voids their leases. Never throws: a failure is remembered and repaired. */
  invalidate(entities: string[]): Promise<void>
  status(): CacheStatus
  close(): Promise<void>
}

/**
 * Cache key names. The version changes whenever the stored format does, so a deploy never reads old
 * entries (v2: values are tRPC's answer envelope, `{"result":{"data":…}}`, not the bare data).
 */
export const entities = {
  /** A conversation's message pages (hash tag: all of a conversation's keys share a cluster slot). */
  messages: (groupUuid: string) => `{c:${groupUuid}}:msgs`,
  /** A conversation's participants: immutable, never invalidated. */
  participants: (groupUuid: string) => `{c:${groupUuid}}:members`,
  /** A user's conversation list pages. */
  groups: (userUuid: string) => `{u:${userUuid}}:groups`,
  // Braced too: an entity's data and lease hashes go into one script call, so on a Redis Cluster
  // they must share a slot (without the hash tag every acquire fails with CROSSSLOT).
  userBySub: (sub: string) => `{user:sub:${sub}}`,
  userByHandle: (handle: string) => `{user:handle:${handleKey(handle)}}`,
}

export const FORMAT_VERSION = 'v2'

/**
 * The ceiling of one entity (a conversation's pages, a user's list): at most this many page variants
 * (first pages of different sizes; pages after a cursor are never cached), each at most
 * MAX_VALUE_BYTES. A fill past either is answered but not stored. Worst case 4 x 512 KB per
 * conversation or user; a first page of 100 of the longest messages is about 330 KB.
 */
export const MAX_FIELDS_PER_ENTITY = 4
export const MAX_VALUE_BYTES = 512 * 1024

/** The field of one page of a list: its size and where it starts. */
export const pageField = (limit: number, cursor?: string): string => (cursor ? `l${limit}:${cursor}` : `l${limit}`)
