// Places for new messages in a conversation: a sort key and a sequence number each, reserved on the
// conversation's head item with one conditional update. Sort keys grow with the sequence numbers, so
// a message can never appear in DynamoDB before one with a smaller key that a reader has already
// passed (subscribers deliver by sequence and wait for a gap, see server/realtime/).
//
// Creates of one instance into one conversation queue here and share one update per round trip, so
// concurrency costs no extra DynamoDB calls; another instance's reservation in between only makes the
// condition fail once, after which the head is re-read and the update retried.
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { boundedMap } from '../lib/bounded-map.js'
import { type HeadItem, headKey, nextMessageSk } from './ddb-items.js'
import { isConditionFailure } from './dynamo.js'

export interface Reservation {
  sk: string
  seq: number
  /** The sort key reserved just before this one, when known (a new or legacy head knows none). */
  prev: string | undefined
  /** When the head granted it (ms since the epoch). */
  at: number
}

/** The head moved under this instance more often than it should: an overload, answered 503. */
export class ReservationContention extends Error {
  override name = 'ReservationContention'
}

interface Waiting {
  messageUuid: string
  createdAt: Date | undefined
  resolve(r: Reservation): void
  reject(err: unknown): void
}

const MAX_ATTEMPTS = 6
/** At most this many reservations share one update (the update's size stays small). */
const MAX_BATCH = 100

export interface Reservations {
  reserve(groupUuid: string, messageUuid: string, createdAt?: Date): Promise<Reservation>
  /** The head as stored (strongly consistent), or undefined for a conversation that has none yet. */
  head(groupUuid: string): Promise<{ lastSk: string; seq: number } | undefined>
}

export function createReservations(ddb: DynamoDBDocumentClient, table: string): Reservations {
  const queues = new Map<string, Waiting[]>()
  /** The last head this instance saw per conversation: a good first guess for the next key. */
  const lastSeen = boundedMap<string, string>(10_000)

  async function readHead(groupUuid: string) {
    const out = await ddb.send(new GetCommand({ TableName: table, Key: headKey(groupUuid), ConsistentRead: true }))
    const item = out.Item as HeadItem | undefined
    return item ? { lastSk: item.last_sk, seq: item.seq } : undefined
  }

  /** One update for a batch; retried against a fresh head when another instance got there first. */
  async function grant(groupUuid: string, batch: Waiting[]): Promise<Reservation[]> {
    let after = lastSeen.get(groupUuid)
    for (let attempt = 1; ; attempt++) {
      const now = new Date()
      const sks: string[] = []
      for (const w of batch) {
        const sk = nextMessageSk(sks.at(-1) ?? after, w.messageUuid, w.createdAt ?? now)
        sks.push(sk)
      }
      try {
        const out = await ddb.send(
          new UpdateCommand({
            TableName: table,
            Key: headKey(groupUuid),
            UpdateExpression: 'SET last_sk = :last ADD seq :n',
            ConditionExpression: 'attribute_not_exists(last_sk) OR last_sk < :first',
            ExpressionAttributeValues: { ':last': sks.at(-1), ':first': sks[0], ':n': batch.length },
            ReturnValues: 'ALL_OLD',
          }),
        )
        const old = out.Attributes as Partial<HeadItem> | undefined
        const base = old?.seq ?? 0
        const at = Date.now()
        lastSeen.set(groupUuid, sks.at(-1)!)
        return sks.map((sk, i) => ({ sk, seq: base + i + 1, prev: i === 0 ? old?.last_sk : sks[i - 1], at }))
      } catch (err) {
        if (!isConditionFailure(err)) throw err
        if (attempt >= MAX_ATTEMPTS) throw new ReservationContention('the conversation head kept moving')
        after = (await readHead(groupUuid))?.lastSk
      }
    }
  }

  async function drain(groupUuid: string, queue: Waiting[]) {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH)
      try {
        const granted = await grant(groupUuid, batch)
        batch.forEach((w, i) => { w.resolve(granted[i]!) })
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
    queues.delete(groupUuid)
  }

  return {
    reserve(groupUuid, messageUuid, createdAt) {
      return new Promise<Reservation>((resolve, reject) => {
        const waiting: Waiting = { messageUuid, createdAt, resolve, reject }
        const queue = queues.get(groupUuid)
        if (queue) {
          queue.push(waiting)
          return
        }
        const fresh = [waiting]
        queues.set(groupUuid, fresh)
        void drain(groupUuid, fresh)
      })
    },
    head: readHead,
  }
}
