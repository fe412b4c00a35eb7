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
import { boundedMap } from '../lib/bounded-map.js'
import { type CacheBackend, type EntryRef, entities, MAX_VALUE_BYTES, pageField } from './cache-backend.js'

export type Kind = 'messages' | 'groups' | 'participants' | 'user'

/** A sub's user as this process last read it, and until when it is used without reading it again. */
interface UserMemo {
  user: UserShort
  until: number
  /** The read under way, if any (in the memo's last stretch, or after it ran out). */
  renewal?: Promise<UserShort | null> | undefined
}

interface Flight {
  value: string | null
  /** Filled under an intact lease: safe for anyone who joined. */
  trusted: boolean
}

const USER_MEMO_MS = 30_000
// A memo used in its last stretch is renewed in the background, once: callers learned together (a
// restart, a bench's warm-up) would otherwise all fall back to the full path together every 30 s, a
// burst of a few hundred slow requests at once; under steady use a memo never runs out.
const USER_RENEW_AHEAD_MS = 10_000

const WAIT_STEPS_MS = [2, 5, 10, 20, 40, 80, 160, 320]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Values are stored as the answer tRPC's adapter sends for them (a call's envelope around its data),
 * so the GET fast path sends a hit's bytes as Redis returns them. The full path takes the data out.
 */
const ENVELOPE_HEAD = '{"result":{"data":'
const ENVELOPE_TAIL = '}}'
export const envelope = (json: string): string => ENVELOPE_HEAD + json + ENVELOPE_TAIL
const dataOf = (stored: string): string => stored.slice(ENVELOPE_HEAD.length, -ENVELOPE_TAIL.length)

/** A hit's bytes: one call's answer as the adapter sends it; undefined for anything but a hit. */
export type HitBytes = Promise<Buffer | undefined> | undefined

/**
 * Cache hits only: what the GET fast path answers from. Nothing here reads the stores; undefined (or
 * false) sends the request down the full path, which reads and fills. Each hit is put in `tally` when
 * asked for: it is counted only if the whole request is answered from hits (`count`).
 */
export interface CacheHits {
  userByHandle(handle: string, tally: Kind[]): HitBytes
  listGroups(userUuid: string, page: PageRequest, tally: Kind[]): HitBytes
  listMessages(groupUuid: string, page: PageRequest, tally: Kind[]): HitBytes
  /** Synchronous for a membership seen before (a conversation's participants never change). */
  isParticipant(groupUuid: string, userUuid: string, tally: Kind[]): Promise<boolean> | boolean
  /** Counts the hits a request was answered with (not those of a request that fell back). */
  count(tally: Kind[]): void
}

export interface CachedReads extends Reads {
  hits: CacheHits
  /**
   * The user of a sub this process looked up before: at once from a memo of the last moments; a memo
   * run out is read again first (one read for all who ask meanwhile; null when it failed or the sub
   * has no user any more), so that callers idle together and back together (after a lull) stay on the
   * fast path instead of all taking the full one at once. Undefined for a sub never seen here.
   */
  knownUser(sub: string): UserShort | Promise<UserShort | null> | undefined
  /** Drops what a message in `groupUuid` changed. Called after DynamoDB acknowledged it. */
  messagePosted(groupUuid: string, participants: readonly string[]): Promise<void>
}

export function cachedReads(source: Reads, cache: CacheBackend, metrics: Metrics, options: { now?: () => number } = {}): CachedReads {
  const now = options.now ?? Date.now
  const flights = new Map<string, Promise<Flight>>()
  // Bound once: counting a hit takes no lookup.
  const countHit: Record<Kind, () => void> = {
    messages: metrics.hitCounter('messages'),
    groups: metrics.hitCounter('groups'),
    participants: metrics.hitCounter('participants'),
    user: metrics.hitCounter('user'),
  }

  /** The source's answer, stored and handed on as its envelope. */
  async function load(read: () => Promise<unknown>): Promise<string | null> {
    const value = await read()
    return value === null ? null : envelope(JSON.stringify(value))
  }

  /** Reads through the lease; `epoch` is the one seen at the miss. */
  async function fly(ref: EntryRef, kind: Kind, epoch: string, read: () => Promise<unknown>): Promise<Flight> {
    let token = await cache.acquire(ref)
    // Another instance holds the lease: wait for its fill rather than read the source too, and take
    // the lease as soon as it is given back (nothing to store) or runs out.
    for (let i = 0; token === false && i < WAIT_STEPS_MS.length; i++) {
      await sleep(WAIT_STEPS_MS[i]!)
      const seen = await cache.lookup(ref)
      if (seen === null) break
      if ('hit' in seen) return { value: seen.hit, trusted: true }
      token = await cache.acquire(ref)
    }
    let value: string | null
    try {
      value = await load(read)
    } catch (err) {
      if (token) await cache.release(ref, token)
      throw err
    }
    if (!token) return { value, trusted: false }
    if (value === null) {
      await cache.release(ref, token)
      return { value, trusted: false }
    }
    if (value.length > MAX_VALUE_BYTES) {
      // Too big to keep (see MAX_VALUE_BYTES): answered from this read, not stored.
      await cache.release(ref, token)
      return { value, trusted: false }
    }
    const filled = await cache.fill(ref, token, epoch, value)
    if (filled) metrics.cacheFills.inc({ entity: kind })
    else metrics.cacheStaleFillsRejected.inc({ entity: kind })
    return { value, trusted: filled }
  }

  async function through(ref: EntryRef, kind: Kind, read: () => Promise<unknown>): Promise<string | null> {
    const seen = await cache.lookup(ref)
    if (seen === null) return load(read) // cache unusable: straight to the source
    if ('hit' in seen) {
      countHit[kind]()
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

  const parsed = async <T>(raw: Promise<string | null>): Promise<T | null> => {
    const value = await raw
    return value === null ? null : (JSON.parse(dataOf(value)) as T)
  }

  // In-process memos for what is (nearly) immutable: a conversation's participants never change,
  // and a sub keeps its user; the latter is re-read after a short while all the same.
  // By conversation, then by member: the strings looked up are the ones of the (memoized) request
  // input and caller, whose hashes V8 keeps, where a joined key would be hashed on every request.
  const byGroup = boundedMap<string, Map<string, UserShort>>(25_000)
  const participants = {
    get: (groupUuid: string, userUuid: string) => byGroup.get(groupUuid)?.get(userUuid),
    set(groupUuid: string, userUuid: string, other: UserShort) {
      let members = byGroup.get(groupUuid)
      if (!members) byGroup.set(groupUuid, (members = new Map<string, UserShort>()))
      members.set(userUuid, other)
    },
  }
  const usersBySub = boundedMap<string, UserMemo>(50_000)

  /** The user of a sub, read through the cache, and memoized. */
  async function learnUser(sub: string): Promise<UserShort | null> {
    const user = await parsed<UserShort>(through({ entity: entities.userBySub(sub), field: 'v' }, 'user', () => source.userBySub(sub)))
    if (user) usersBySub.set(sub, { user, until: now() + USER_MEMO_MS })
    return user
  }

  /** Reads a memo's sub again, once however many ask; null when the read failed (tried again by a later request). */
  function renew(sub: string, memo: UserMemo): Promise<UserShort | null> {
    memo.renewal ??= learnUser(sub).then(
      (user) => {
        if (!user) usersBySub.delete(sub)
        return user
      },
      () => {
        memo.renewal = undefined
        return null
      },
    )
    return memo.renewal
  }

  // Only first pages are cached: they are nearly all of the traffic, and their number is bounded.
  // Any sort key of one's own partition makes a valid cursor, so pages after a cursor are read from
  // DynamoDB every time (one Query), or a client could fill Redis with pages at will.
  const raw = {
    userByHandle: (handle: string) =>
      through({ entity: entities.userByHandle(handle), field: 'v' }, 'user', () => source.userByHandle(handle)),
    listGroups: (userUuid: string, page: PageRequest) =>
      page.cursor
        ? load(() => source.listGroups(userUuid, page))
        : through({ entity: entities.groups(userUuid), field: pageField(page.limit) }, 'groups', () => source.listGroups(userUuid, page)),
    listMessages: (groupUuid: string, page: PageRequest) =>
      page.cursor
        ? load(() => source.listMessages(groupUuid, page))
        : through({ entity: entities.messages(groupUuid), field: pageField(page.limit) }, 'messages', () => source.listMessages(groupUuid, page)),
  }

  function hit(ref: EntryRef, kind: Kind, tally: Kind[]): HitBytes {
    tally.push(kind)
    return cache.hitBytes(ref)
  }

  const hits: CacheHits = {
    userByHandle: (handle, tally) => hit({ entity: entities.userByHandle(handle), field: 'v' }, 'user', tally),
    listGroups: (userUuid, page, tally) =>
      page.cursor ? undefined : hit({ entity: entities.groups(userUuid), field: pageField(page.limit) }, 'groups', tally),
    listMessages: (groupUuid, page, tally) =>
      page.cursor ? undefined : hit({ entity: entities.messages(groupUuid), field: pageField(page.limit) }, 'messages', tally),
    isParticipant(groupUuid, userUuid, tally) {
      if (participants.get(groupUuid, userUuid)) return true
      const other = hit({ entity: entities.participants(groupUuid), field: userUuid }, 'participants', tally)
      if (!other) return false
      return other.then((bytes) => {
        if (!bytes) return false
        participants.set(groupUuid, userUuid, JSON.parse(dataOf(bytes.toString())) as UserShort)
        return true
      })
    },
    count(tally) {
      for (const kind of tally) countHit[kind]()
    },
  }

  return {
    hits,
    knownUser(sub) {
      const memo = usersBySub.get(sub)
      if (!memo) return undefined
      const left = memo.until - now()
      if (left <= 0) return renew(sub, memo)
      if (left < USER_RENEW_AHEAD_MS && !memo.renewal) void renew(sub, memo)
      return memo.user
    },
    async userBySub(sub) {
      const memo = usersBySub.get(sub)
      if (memo && memo.until > now()) return memo.user
      return learnUser(sub)
    },
    userByHandle: (handle) => parsed<UserShort>(raw.userByHandle(handle)),
    listGroups: (userUuid, page) => parsed<Page<MessageGroup>>(raw.listGroups(userUuid, page)) as Promise<Page<MessageGroup>>,
    listMessages: (groupUuid, page) => parsed<Page<Message>>(raw.listMessages(groupUuid, page)) as Promise<Page<Message>>,
    async otherParticipant(groupUuid, userUuid) {
      const memo = participants.get(groupUuid, userUuid)
      if (memo) return memo
      const other = await parsed<UserShort>(
        through({ entity: entities.participants(groupUuid), field: userUuid }, 'participants', () =>
          source.otherParticipant(groupUuid, userUuid),
        ),
      )
      if (other) participants.set(groupUuid, userUuid, other)
      return other
    },
    async messagePosted(groupUuid, participants) {
      const dropped = [entities.messages(groupUuid), ...participants.map(entities.groups)]
      await cache.invalidate(dropped)
      metrics.cacheInvalidations.inc(dropped.length)
    },
  }
}
