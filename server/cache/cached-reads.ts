// Cache-aside over the read path. A miss takes a lease, reads the source (strongly consistent) and
// fills under the lease; concurrent misses share one read per instance (single flight), and other
// instances wait for the lease holder's fill instead of reading too.
//
// Read-your-writes: a value is used by a request only if it was filled under a lease that no
// invalidation voided, or read by that request's own load. A write invalidates before it answers,
// so any fill that could predate it is refused, and a request never joins a load it cannot trust.
import type { Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
import type { PageRequest } from '../data/conversations-store.js'
import type { Metrics } from '../metrics.js'
import type { Reads } from '../services/reads.js'
import { type CacheBackend, type EntryRef, entities, pageField } from './cache-backend.js'

type Kind = 'messages' | 'groups' | 'participants' | 'user'

interface Flight {
  value: string | null
  /** Filled under an intact lease: safe for anyone who joined. */
  trusted: boolean
}

const WAIT_STEPS_MS = [2, 5, 10, 20, 40, 80, 160, 320]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface CachedReads extends Reads {
  /** The serialized value of a hit, or undefined: what the fast path answers from. */
  peek(ref: EntryRef, kind: Kind): Promise<string | undefined>
  /** Drops what a message in `groupUuid` changed. Called after DynamoDB acknowledged it. */
  messagePosted(groupUuid: string, participants: readonly string[]): Promise<void>
}

export function cachedReads(source: Reads, cache: CacheBackend, metrics: Metrics): CachedReads {
  const flights = new Map<string, Promise<Flight>>()

  async function load(read: () => Promise<unknown>): Promise<string | null> {
    const value = await read()
    return value === null ? null : JSON.stringify(value)
  }

  /** Reads through the lease; `epoch` is the one seen at the miss. */
  async function fly(ref: EntryRef, kind: Kind, epoch: string, read: () => Promise<unknown>): Promise<Flight> {
    let token = await cache.acquire(ref)
    if (token === false) {
      // Another instance is filling: wait for it, briefly, rather than read the source too.
      for (const step of WAIT_STEPS_MS) {
        await sleep(step)
        const seen = await cache.lookup(ref)
        if (seen === null) break
        if ('hit' in seen) return { value: seen.hit, trusted: true }
      }
      token = await cache.acquire(ref)
    }
    const value = await load(read)
    if (!token || value === null) return { value, trusted: false }
    const filled = await cache.fill(ref, token, epoch, value)
    if (filled) metrics.cacheFills.inc({ entity: kind })
    else metrics.cacheStaleFillsRejected.inc({ entity: kind })
    return { value, trusted: filled }
  }

  async function through(ref: EntryRef, kind: Kind, read: () => Promise<unknown>): Promise<string | null> {
    const seen = await cache.lookup(ref)
    if (seen === null) return load(read) // cache unusable: straight to the source
    if ('hit' in seen) {
      metrics.cacheHits.inc({ entity: kind })
      return seen.hit
    }
    metrics.cacheMisses.inc({ entity: kind })
    const id = `${ref.entity}\n${ref.field}`
    const running = flights.get(id)
    if (running) {
      const joined = await running
      // A load that was refused its fill may predate a write this request must see.
      if (joined.trusted) return joined.value
    }
    const mine = fly(ref, kind, seen.miss, read)
    flights.set(id, mine)
    try {
      return (await mine).value
    } finally {
      if (flights.get(id) === mine) flights.delete(id)
    }
  }

  const parsed = async <T>(ref: EntryRef, kind: Kind, read: () => Promise<T | null>): Promise<T | null> => {
    const raw = await through(ref, kind, read)
    return raw === null ? null : (JSON.parse(raw) as T)
  }

  return {
    userBySub: (sub) => parsed({ entity: entities.userBySub(sub), field: 'v' }, 'user', () => source.userBySub(sub)),
    userByHandle: (handle) =>
      parsed({ entity: entities.userByHandle(handle), field: 'v' }, 'user', () => source.userByHandle(handle)),
    listGroups: (userUuid, page: PageRequest) =>
      parsed<Page<MessageGroup>>({ entity: entities.groups(userUuid), field: pageField(page.limit, page.cursor) }, 'groups', () =>
        source.listGroups(userUuid, page),
      ) as Promise<Page<MessageGroup>>,
    listMessages: (groupUuid, page: PageRequest) =>
      parsed<Page<Message>>({ entity: entities.messages(groupUuid), field: pageField(page.limit, page.cursor) }, 'messages', () =>
        source.listMessages(groupUuid, page),
      ) as Promise<Page<Message>>,
    otherParticipant: (groupUuid, userUuid) =>
      parsed<UserShort>({ entity: entities.participants(groupUuid), field: userUuid }, 'participants', () =>
        source.otherParticipant(groupUuid, userUuid),
      ),
    async peek(ref, kind) {
      const seen = await cache.lookup(ref)
      if (seen && 'hit' in seen) {
        metrics.cacheHits.inc({ entity: kind })
        return seen.hit
      }
      return undefined
    },
    async messagePosted(groupUuid, participants) {
      const dropped = [entities.messages(groupUuid), ...participants.map(entities.groups)]
      await cache.invalidate(dropped)
      metrics.cacheInvalidations.inc(dropped.length)
    },
  }
}
