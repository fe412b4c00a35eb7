// One subscriber's view of a conversation's new messages, delivered in sort-key order, each once.
//
// Every message has a place (`seq`) reserved before it is written (server/data/reservations.ts), and
// sort keys grow with places. So the feed delivers place after place: a ring from the bus that is the
// next place is delivered at once (no DynamoDB read); one that skips ahead waits for the missing
// place, which is a message still being written, or whose ring was lost, or that will never be
// written (its writer failed). The feed then reads DynamoDB from its last delivered key; a place still
// missing after the write window (plus a margin) can no longer receive its message, and is passed.
import type { Message } from '@cruddur/contracts'
import type { ConversationsStore, LogEntry } from '../data/conversations-store.js'
import type { MessageEvent } from './channels.js'
import { EventQueue } from './event-queue.js'

export type Delivery<T> =
  | {
      id: string
      data: T
      /** When the create was acknowledged, for events that came by the bus (latency is measured on those). */
      at: number | undefined
      position?: undefined
    }
  /**
   * Where a new stream starts (no data): sent as an SSE event with only an id, which sets the client's
   * last event id, so one that disconnects before its first message resumes from its start, missing
   * nothing created meanwhile.
   */
  | { id: string; position: true }

/** The id of a start before anything: every entry's key sorts after it. */
export const BEFORE_EVERYTHING = '0'

export interface FeedDeps {
  store: Pick<ConversationsStore, 'logAfter' | 'head' | 'lastLogEntry'>
  /** How long a missing place is waited for before it is passed. */
  gapSkipMs: number
  capacity: number
  /** A catch-up ended: how many events it delivered, with how many DynamoDB reads. */
  onCatchUp(delivered: number, reads: number): void
  onGapSkipped(): void
}

const PAGE = 100
/**
 * A ring that skips ahead is first checked against DynamoDB after this long: the missing ring is
 * usually just late (creates of one conversation on two instances ring in their own time).
 */
const FIRST_GAP_CHECK_MS = 250
const GAP_CHECK_MS = 1000
/** Rings held while waiting for a gap; past it they are dropped and read back from DynamoDB. */
const MAX_PENDING = 1000

export class MessageFeed {
  readonly queue: EventQueue<Delivery<Message>>
  private lastSk: string | undefined
  private lastSeq: number | undefined
  private readonly pending = new Map<number, MessageEvent>()
  private started = false
  private gap: { since: number; next: number } | undefined
  private gapTimer: NodeJS.Timeout | undefined
  private reading: Promise<void> | undefined
  /** Catch-ups asked for; a read that began before the latest one asked reads again. */
  private asked = 0

  constructor(
    readonly groupUuid: string,
    private readonly deps: FeedDeps,
  ) {
    this.queue = new EventQueue(deps.capacity)
  }

  /**
   * Sets the starting point: after `lastEventId` (read back from DynamoDB), or the conversation as it
   * is now. Call it after the feed listens to the bus, so nothing falls between the two.
   */
  async start(lastEventId?: string | null): Promise<void> {
    if (lastEventId) {
      await this.catchUp(lastEventId)
    } else {
      const head = await this.deps.store.head(this.groupUuid)
      if (head) {
        this.lastSk = head.lastSk
        this.lastSeq = head.seq
      } else {
        // No place was ever reserved (a conversation the original wrote, or none): everything there is, is old.
        const last = await this.deps.store.lastLogEntry(this.groupUuid)
        this.lastSk = last?.sk
        this.lastSeq = last?.seq ?? 0
      }
      this.queue.push({ id: this.lastSk ?? BEFORE_EVERYTHING, position: true })
    }
    this.started = true
    this.flush()
  }

  /** A ring from the bus. */
  onRing(e: MessageEvent): void {
    if (this.queue.ended()) return
    if (this.lastSeq !== undefined && e.seq <= this.lastSeq) return // delivered already
    if (!this.started || (this.lastSeq !== undefined && e.seq !== this.lastSeq + 1)) {
      if (this.pending.size >= MAX_PENDING) this.pending.clear() // DynamoDB has them all
      this.pending.set(e.seq, e)
      if (this.started) this.noteGap(e.seq)
      return
    }
    this.deliver(e.sk, e.seq, e.message, e.at)
    this.flush()
  }

  /** Reads what DynamoDB holds after the last delivered key (single flight: calls during a read repeat it once). */
  catchUp(resumeFrom?: string): Promise<void> {
    this.asked++
    if (this.reading) return this.reading
    this.reading = (async () => {
      let from = resumeFrom
      for (let served = 0; served < this.asked && !this.queue.ended(); ) {
        served = this.asked
        await this.readLog(from)
        from = undefined
      }
    })().finally(() => {
      this.reading = undefined
    })
    return this.reading
  }

  /** Ends the feed's timers (the stream is over). */
  stop(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer)
  }

  private async readLog(resumeFrom: string | undefined): Promise<void> {
    let delivered = 0
    let reads = 0
    // Resuming: the page starts AT the client's last event, which tells its place.
    let inclusive = resumeFrom !== undefined
    if (resumeFrom !== undefined) this.lastSk = resumeFrom
    for (;;) {
      if (this.lastSk === undefined) break // nothing ever written: the bus will bring the first message
      reads++
      const entries: LogEntry[] = await this.deps.store.logAfter(this.groupUuid, this.lastSk, PAGE, inclusive)
      for (const entry of entries) {
        await this.queue.room() // a long catch-up waits for its reader rather than overflow
        if (inclusive && entry.sk === resumeFrom) {
          this.lastSeq = entry.seq
          continue
        }
        if (entry.seq === undefined) {
          // A message the original wrote: older than every numbered one, delivered in key order.
          if (this.lastSeq === undefined || this.lastSeq === 0) delivered += this.deliver(entry.sk, undefined, entry.message, undefined)
          else this.lastSk = entry.sk
          continue
        }
        if (this.lastSeq !== undefined && entry.seq <= this.lastSeq) {
          this.lastSk = entry.sk // delivered before: the next read starts after it
          continue
        }
        if (this.lastSeq === undefined || entry.seq === this.lastSeq + 1) {
          delivered += this.deliver(entry.sk, entry.seq, entry.message, undefined)
          continue
        }
        this.noteGap(entry.seq) // a place before this one is still empty
        break
      }
      inclusive = false
      if (this.gap || entries.length < PAGE || this.queue.ended()) break
    }
    this.deps.onCatchUp(delivered, reads)
    this.flush()
  }

  private deliver(sk: string, seq: number | undefined, message: Message | null, at: number | undefined): number {
    this.lastSk = sk
    if (seq !== undefined) this.lastSeq = seq
    if (this.gap && seq !== undefined && seq >= this.gap.next - 1) this.clearGap()
    // A settled empty place (tombstone) moves the feed on without an event.
    if (message === null) return 0
    this.queue.push({ id: sk, data: message, at })
    return 1
  }

  /** Delivers held rings that have become next; notes a gap if some are still ahead. */
  private flush(): void {
    if (this.lastSeq === undefined) return
    for (let e = this.pending.get(this.lastSeq + 1); e; e = this.pending.get(this.lastSeq + 1)) {
      this.pending.delete(e.seq)
      this.deliver(e.sk, e.seq, e.message, e.at)
    }
    for (const seq of this.pending.keys()) if (seq <= this.lastSeq) this.pending.delete(seq)
    if (this.pending.size === 0) this.clearGap()
    else this.noteGap(Math.min(...this.pending.keys()))
  }

  private noteGap(next: number): void {
    if (this.gap) {
      this.gap.next = Math.min(this.gap.next, next)
      return
    }
    this.gap = { since: Date.now(), next }
    this.gapTimer = setTimeout(() => void this.checkGap(), FIRST_GAP_CHECK_MS)
    this.gapTimer.unref()
  }

  private clearGap(): void {
    this.gap = undefined
    if (this.gapTimer) clearTimeout(this.gapTimer)
    this.gapTimer = undefined
  }

  private async checkGap(): Promise<void> {
    this.gapTimer = undefined
    if (!this.gap || this.queue.ended()) return
    try {
      await this.catchUp()
    } catch {
      // DynamoDB unreachable: try again at the next check
    }
    const gap = this.currentGap()
    if (!gap || this.queue.ended()) return
    if (Date.now() - gap.since >= this.deps.gapSkipMs && this.lastSeq !== undefined) {
      // The missing places can no longer receive a message (their writers' window is over).
      this.deps.onGapSkipped()
      this.lastSeq = gap.next - 1
      this.clearGap()
      this.flush()
      void this.catchUp().catch(() => {})
      return
    }
    // A read during the check may have noted a new gap, with its own timer.
    this.gapTimer ??= setTimeout(() => void this.checkGap(), GAP_CHECK_MS).unref()
  }

  /** The gap as it is now (reads while awaiting may have filled or noted it). */
  private currentGap(): { since: number; next: number } | undefined {
    return this.gap
  }
}
