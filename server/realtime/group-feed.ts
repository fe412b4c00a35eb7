// One user's view of their conversation list: each time a conversation gets a message, its row as the
// list now shows it at the top. The event id is the row's sort key; rows arrive from the bus, and
// from DynamoDB when resuming or after the bus was down (rows newer than the last delivered key).
//
// Rows of different conversations are written independently, so one can land a moment after a newer
// row of another conversation was delivered: it is still delivered (its conversation changed), under
// the newest id delivered so far, so a resume never goes back and delivers a row twice.
import type { MessageGroup } from '@cruddur/contracts'
import type { ConversationsStore } from '../data/conversations-store.js'
import { boundedMap } from '../lib/bounded-map.js'
import type { GroupEvent } from './channels.js'
import { EventQueue } from './event-queue.js'
import { BEFORE_EVERYTHING, type Delivery } from './message-feed.js'

export interface GroupFeedDeps {
  store: Pick<ConversationsStore, 'groupsAfter' | 'lastGroupSk'>
  capacity: number
  onCatchUp(delivered: number, reads: number): void
}

const PAGE = 100

export class GroupFeed {
  readonly queue: EventQueue<Delivery<MessageGroup>>
  /** The newest row key delivered (or the list's newest at the start): resumes read after it. */
  private watermark = BEFORE_EVERYTHING
  /** The key of the row last delivered per conversation, so a ring heard twice is delivered once. */
  private readonly seen = boundedMap<string, string>(1000)
  private readonly held: GroupEvent[] = []
  /** Where the feed started (the list's newest row then, or the resumed id): older rows came before it. */
  private origin = BEFORE_EVERYTHING
  private started = false
  private reading: Promise<void> | undefined
  /** Catch-ups asked for; a read that began before the latest one asked reads again. */
  private asked = 0

  constructor(
    readonly userUuid: string,
    private readonly deps: GroupFeedDeps,
  ) {
    this.queue = new EventQueue(deps.capacity)
  }

  async start(lastEventId?: string | null): Promise<void> {
    if (lastEventId) {
      this.watermark = lastEventId
      this.origin = lastEventId
      await this.catchUp()
    } else {
      this.watermark = (await this.deps.store.lastGroupSk(this.userUuid)) ?? BEFORE_EVERYTHING
      this.origin = this.watermark
      this.queue.push({ id: this.watermark, position: true })
    }
    this.started = true
    for (const e of this.held.splice(0)) this.onRing(e)
  }

  onRing(e: GroupEvent): void {
    if (this.queue.ended()) return
    if (!this.started) {
      this.held.push(e)
      return
    }
    // From before the start: shown by the list the client has, or sent by the stream it resumes.
    if (e.sk <= this.origin) return
    this.deliver(e.sk, e.row, e.at)
  }

  catchUp(): Promise<void> {
    this.asked++
    if (this.reading) return this.reading
    this.reading = (async () => {
      for (let served = 0; served < this.asked && !this.queue.ended(); ) {
        served = this.asked
        let delivered = 0
        let reads = 0
        for (;;) {
          reads++
          const rows = await this.deps.store.groupsAfter(this.userUuid, this.watermark, PAGE)
          for (const r of rows) {
            await this.queue.room()
            delivered += this.deliver(r.sk, r.row, undefined)
          }
          if (rows.length < PAGE || this.queue.ended()) break
        }
        this.deps.onCatchUp(delivered, reads)
      }
    })().finally(() => {
      this.reading = undefined
    })
    return this.reading
  }

  stop(): void {
    // no timers
  }

  private deliver(sk: string, row: MessageGroup, at: number | undefined): number {
    const previous = this.seen.get(row.uuid)
    if (previous !== undefined && previous >= sk) return 0 // this row, or a newer one, was delivered
    this.seen.set(row.uuid, sk)
    if (sk > this.watermark) this.watermark = sk
    this.queue.push({ id: this.watermark, data: row, at })
    return 1
  }
}
