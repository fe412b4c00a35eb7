// The instance's subscriptions: who may open one (limits), what each listens to on the bus, when they
// read DynamoDB instead (the bus was down, or is), how their streams end (token expiry, a slow reader,
// shutdown), and the rings a stored message sends.
import type { Message, MessageGroup, UserShort } from '@cruddur/contracts'
import type { ConversationsStore, PostedMessage } from '../data/conversations-store.js'
import { ServiceError, unauthorized } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { Bus } from './bus.js'
import { type Channels, type GroupEvent, type MessageEvent, parseEvent } from './channels.js'
import { StreamAbort } from './event-queue.js'
import { GroupFeed } from './group-feed.js'
import { type Delivery, MessageFeed } from './message-feed.js'

export interface RealtimeOptions {
  bus: Bus
  store: ConversationsStore
  metrics: Metrics
  channels: Channels
  /** Open subscriptions allowed per user, and in all, on this instance. */
  perUser: number
  perInstance: number
  /** Events a stream may hold for a slow reader before it is ended (the client resumes). */
  buffer: number
  /** How long a missing place is waited for (server/data/message-writer.ts WRITE_WINDOW_MS, doubled). */
  gapSkipMs: number
  /** While the bus is down, how often every subscription reads DynamoDB. */
  pollMs: number
}

type Kind = 'messages' | 'groups'

/** What a stream knows of its connection. */
export interface StreamConnection {
  /** When the caller's token expires (seconds since the epoch): the stream ends then. */
  expiresAt: number
  /** Aborted when the client goes away. */
  signal: AbortSignal | undefined
  /** Drops the connection at once (a stream stuck behind a reader that stopped reading). */
  drop(): void
}

interface Open {
  kind: Kind
  feed: MessageFeed | GroupFeed
  conn: StreamConnection
}

/** Subscriptions reading DynamoDB at once (after an outage, while polling): the rest queue behind them. */
const READ_CONCURRENCY = 16

/**
 * The store's reads for subscriptions, shared: subscribers of one conversation usually stand at the same
 * key (they heard the same rings, or resume from the same last event), so a read already under way for
 * the same position serves all of them, and a gap or a mass reconnect costs one read per conversation
 * rather than one per subscriber.
 */
function sharedReads(store: ConversationsStore): FeedStore {
  const inflight = new Map<string, Promise<unknown>>()
  function shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const running = inflight.get(key) as Promise<T> | undefined
    if (running) return running
    const started = read().finally(() => inflight.delete(key))
    inflight.set(key, started)
    return started
  }
  return {
    logAfter: (group, after, limit, inclusive) => shared(`l\n${group}\n${after}\n${limit}\n${inclusive}`, () => store.logAfter(group, after, limit, inclusive)),
    groupsAfter: (user, after, limit) => shared(`g\n${user}\n${after}\n${limit}`, () => store.groupsAfter(user, after, limit)),
    head: (group) => shared(`h\n${group}`, () => store.head(group)),
    lastLogEntry: (group) => shared(`e\n${group}`, () => store.lastLogEntry(group)),
    lastGroupSk: (user) => shared(`s\n${user}`, () => store.lastGroupSk(user)),
  }
}

type FeedStore = Pick<ConversationsStore, 'logAfter' | 'groupsAfter' | 'head' | 'lastLogEntry' | 'lastGroupSk'>

export function createRealtime(options: RealtimeOptions) {
  const { bus, metrics, channels } = options
  const store = sharedReads(options.store)
  const open = new Set<Open>()
  const perUser = new Map<string, number>()
  let poller: NodeJS.Timeout | undefined
  let closed = false

  /** Every open subscription reads what DynamoDB holds past its position, a few at a time. */
  async function catchUpAll(): Promise<void> {
    const all = [...open]
    const worker = async () => {
      for (let o = all.shift(); o; o = all.shift()) await o.feed.catchUp().catch(() => {})
    }
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, all.length) }, worker))
  }

  function poll(): void {
    if (poller || closed) return
    const tick = async () => {
      await catchUpAll()
      if (bus.status() === 'down' && !closed) poller = setTimeout(() => void tick(), options.pollMs).unref()
      else poller = undefined
    }
    poller = setTimeout(() => void tick(), options.pollMs).unref()
  }

  bus.onStatus((status) => {
    if (status === 'up') void catchUpAll() // what the bus missed while it was down
    else poll()
  })
  if (bus.status() === 'down') poll() // Redis unreachable at the start: read until it is back

  function admit(user: UserShort): () => void {
    const mine = perUser.get(user.uuid) ?? 0
    if (open.size >= options.perInstance) {
      metrics.realtime.refused.inc({ reason: 'instance' })
      throw new ServiceError('TOO_MANY_REQUESTS', 'too many open subscriptions on this server', { retryAfterSeconds: 5 })
    }
    if (mine >= options.perUser) {
      metrics.realtime.refused.inc({ reason: 'user' })
      throw new ServiceError('TOO_MANY_REQUESTS', `at most ${options.perUser} open subscriptions per user`, { retryAfterSeconds: 5 })
    }
    perUser.set(user.uuid, mine + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (perUser.get(user.uuid) ?? 1) - 1
      if (left > 0) perUser.set(user.uuid, left)
      else perUser.delete(user.uuid)
    }
  }

  /**
   * The stream of one subscription: admitted, listening on its channel before it reads its starting
   * point, ended by the client going away, its token expiring, overflow or shutdown.
   */
  async function* stream<T>(
    kind: Kind,
    user: UserShort,
    feed: MessageFeed | GroupFeed,
    channel: string,
    onRing: (payload: string) => void,
    lastEventId: string | null | undefined,
    conn: StreamConnection,
  ): AsyncGenerator<Delivery<T>> {
    const { expiresAt, signal } = conn
    if (closed) throw new StreamAbort('shutdown')
    const release = admit(user)
    const entry: Open = { kind, feed, conn }
    const listening = bus.subscribe(channel, onRing)
    open.add(entry)
    // Shared with the start's callback below, which runs while this generator is suspended.
    const state = { counted: false, finished: false }
    const end = (reason: Error) => {
      feed.queue.end(reason)
    }
    feed.queue.onEnd = (reason) => {
      if (!(reason instanceof StreamAbort) || reason.reason === 'gone') return
      metrics.realtime.ended.inc({ reason: reason.reason })
      // A reader that stopped reading keeps the stream's generator waiting at its last event, where it
      // cannot learn that the stream is over: drop the connection (its EventSource reconnects and resumes).
      if (reason.reason === 'overflow') conn.drop()
    }
    const onAbort = () => { end(new StreamAbort('gone')) }
    signal?.addEventListener('abort', onAbort)
    const expiry = setTimeout(() => {
      metrics.realtime.ended.inc({ reason: 'expired' })
      end(unauthorized('access token expired'))
    }, Math.max(0, expiresAt * 1000 - Date.now()))
    expiry.unref()
    try {
      // Read while starting: a resume's catch-up fills the queue as the stream drains it.
      void listening.ready.then(() => feed.start(lastEventId)).then(
        () => {
          // Counted once its starting point is set: what is created from now on, it delivers.
          if (state.finished) return
          metrics.realtime.open.inc({ kind })
          state.counted = true
        },
        (err: unknown) => {
          end(err instanceof Error ? err : new Error(String(err)))
        },
      )
      for await (const item of feed.queue as AsyncIterable<Delivery<T>>) {
        if (!item.position) {
          if (item.at !== undefined) metrics.realtime.latency.observe({ kind }, (Date.now() - item.at) / 1000)
          metrics.realtime.delivered.inc({ kind })
        }
        yield item
      }
    } finally {
      state.finished = true
      clearTimeout(expiry)
      signal?.removeEventListener('abort', onAbort)
      feed.stop()
      listening.stop()
      open.delete(entry)
      if (state.counted) metrics.realtime.open.dec({ kind })
      release()
    }
  }

  const onCatchUp = (kind: Kind) => (delivered: number, reads: number) => {
    if (reads > 0) metrics.realtime.catchUps.inc({ kind }, reads)
    if (delivered > 0) metrics.realtime.catchUpEvents.inc({ kind }, delivered)
  }

  return {
    /** New messages of one conversation (the caller's membership is checked by the caller). */
    messages(user: UserShort, groupUuid: string, lastEventId: string | null | undefined, conn: StreamConnection) {
      const feed = new MessageFeed(groupUuid, {
        store,
        gapSkipMs: options.gapSkipMs,
        capacity: options.buffer,
        onCatchUp: onCatchUp('messages'),
        onGapSkipped: () => { metrics.realtime.gapsSkipped.inc() },
      })
      const onRing = (payload: string) => {
        const e = parseEvent<MessageEvent>(payload, 'message')
        if (e) feed.onRing(e)
      }
      return stream<Message>('messages', user, feed, channels.conversation(groupUuid), onRing, lastEventId, conn)
    },

    /** The caller's conversation rows as they change. */
    groups(user: UserShort, lastEventId: string | null | undefined, conn: StreamConnection) {
      const feed = new GroupFeed(user.uuid, { store, capacity: options.buffer, onCatchUp: onCatchUp('groups') })
      const onRing = (payload: string) => {
        const e = parseEvent<GroupEvent>(payload, 'group')
        if (e) feed.onRing(e)
      }
      return stream<MessageGroup>('groups', user, feed, channels.user(user.uuid), onRing, lastEventId, conn)
    },

    /** Rings for a stored message: its conversation, and both participants' lists. */
    async published(posted: PostedMessage, sender: UserShort, recipient: UserShort, at: number): Promise<void> {
      const { message, sk, seq, groupUuid } = posted
      const row = (other: UserShort): MessageGroup => ({
        uuid: groupUuid,
        handle: other.handle,
        displayName: other.displayName,
        message: message.message,
        createdAt: message.createdAt,
      })
      const ring = (e: MessageEvent | GroupEvent) => JSON.stringify(e)
      await Promise.all([
        bus.publish(channels.conversation(groupUuid), ring({ sk, seq, message, at })),
        bus.publish(channels.user(sender.uuid), ring({ sk, row: row(recipient), at })),
        bus.publish(channels.user(recipient.uuid), ring({ sk, row: row(sender), at })),
      ])
    },

    /** Ends every stream (shutdown): clients reconnect, to another instance, and resume. */
    endAll(): void {
      closed = true
      if (poller) clearTimeout(poller)
      for (const o of open) o.feed.queue.end(new StreamAbort('shutdown'))
    },

    /** Drops the connections of streams that have not ended by now (their readers stopped reading). */
    dropRemaining(): void {
      for (const o of open) o.conn.drop()
    },

    openCount: (): number => open.size,
  }
}

export type Realtime = ReturnType<typeof createRealtime>
