// The DynamoDB item layout of the original Cruddur (table `cruddur-messages`), in one place: key
// prefixes, attribute names, sort-key and timestamp formats, and cursors. Nothing else in the code
// knows how an item is spelled.
import type { Message, MessageGroup, UserShort } from '@cruddur/contracts'

export const GROUP_INDEX = 'message-group-sk-index'
const GROUP_PREFIX = 'GRP#'
const MESSAGE_PREFIX = 'MSG#'
// Our own item types (the original never wrote these prefixes, and its scripts skip them). None carries
// message_group_uuid, so the sparse index keeps holding group items only.
const HEAD_PREFIX = 'HEAD#'
const SENT_PREFIX = 'SENT#'

/** A participant's view of a conversation: the OTHER participant and the last message. */
export interface GroupItem {
  pk: string
  sk: string
  message_group_uuid: string
  message: string
  user_uuid: string
  user_display_name: string
  user_handle: string
}

/** One message; the user attributes are the sender's. Carries no message_group_uuid (sparse index). */
export interface MessageItem {
  pk: string
  sk: string
  message_uuid: string
  message: string
  user_uuid: string
  user_display_name: string
  user_handle: string
  /** Its place in the conversation (1, 2, ...): absent on messages the original wrote. */
  seq?: number
}

/**
 * A reserved place that will never hold a message (its writer gave up, or lost a race for the same
 * clientMessageId): written at the message's key, so a late write of that message fails its
 * condition, and subscribers know the place is settled. Lists skip it.
 */
export interface TombstoneItem {
  pk: string
  sk: string
  seq: number
  tombstone: true
}

/**
 * A conversation's head: the sort key of its latest reserved message and how many were reserved.
 * Every message first reserves its place here (one conditional update), so sort keys grow with the
 * sequence numbers, and a subscriber can tell a gap (a message still being written) from the end.
 */
export interface HeadItem {
  pk: string
  sk: typeof HEAD_SK
  last_sk: string
  seq: number
}

/** What a sender's clientMessageId stands for: enough to answer or finish the first attempt. */
export interface SentItem {
  pk: string
  sk: string
  group_uuid: string
  message: string
  message_uuid: string
  message_sk: string
  seq: number
  /** The sort key of the message before it, when known (whose group items it replaces). */
  prev_sk?: string
  recipient_uuid: string
  recipient_handle: string
  recipient_display_name: string
  /** When its place was reserved (ms since the epoch). */
  reserved_at: number
  /** DynamoDB TTL (seconds since the epoch): retries come within minutes; a week is plenty. */
  expires_at: number
}

export type ItemKey = { pk: string; sk: string }

export const groupPk = (userUuid: string): string => GROUP_PREFIX + userUuid
export const messagePk = (groupUuid: string): string => MESSAGE_PREFIX + groupUuid
export const HEAD_SK = 'messages'
export const headKey = (groupUuid: string): ItemKey => ({ pk: HEAD_PREFIX + groupUuid, sk: HEAD_SK })
export const sentKey = (senderUuid: string, clientMessageId: string): ItemKey => ({ pk: SENT_PREFIX + senderUuid, sk: clientMessageId })

/**
 * A message's sort key: its time, then its own (time-ordered) uuid. The original used the bare
 * timestamp, so two messages in one millisecond overwrote each other; the suffix makes keys unique
 * while they still sort by time. A group item takes the sort key of the message it shows.
 */
export const messageSk = (createdAt: string, messageUuid: string): string => `${createdAt}#${messageUuid}`

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * The API's timestamp (UTC, milliseconds, `Z`) from any ISO-8601 form the table holds: ours, or the
 * original's `+00:00` offsets and microseconds. A naive timestamp is UTC, as the original wrote it.
 */
export function toApiTimestamp(raw: string): string {
  const m = TIMESTAMP.exec(raw)
  if (!m) throw new Error(`unreadable timestamp in table: ${raw}`)
  const millis = (m[2] ?? '').padEnd(3, '0').slice(0, 3)
  let offset = m[3] ?? 'Z'
  if (offset !== 'Z' && !offset.includes(':')) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`
  const date = new Date(`${m[1]}.${millis}${offset}`)
  if (Number.isNaN(date.getTime())) throw new Error(`unreadable timestamp in table: ${raw}`)
  return date.toISOString()
}

/** The time part of a sort key (`<time>#<uuid>` ours, `<time>` the original's). */
export const skTimestamp = (sk: string): string => toApiTimestamp(sk.split('#', 1)[0]!)

export function toMessageGroup(item: GroupItem): MessageGroup {
  return {
    uuid: item.message_group_uuid,
    handle: item.user_handle,
    displayName: item.user_display_name,
    message: item.message,
    createdAt: skTimestamp(item.sk),
  }
}

export function toMessage(item: MessageItem): Message {
  return {
    uuid: item.message_uuid,
    handle: item.user_handle,
    displayName: item.user_display_name,
    message: item.message,
    createdAt: skTimestamp(item.sk),
  }
}

export function groupItem(owner: string, other: UserShort, groupUuid: string, sk: string, text: string): GroupItem {
  return {
    pk: groupPk(owner),
    sk,
    message_group_uuid: groupUuid,
    message: text,
    user_uuid: other.uuid,
    user_display_name: other.displayName,
    user_handle: other.handle,
  }
}

export function messageItem(groupUuid: string, sender: UserShort, messageUuid: string, sk: string, text: string, seq?: number): MessageItem {
  return {
    pk: messagePk(groupUuid),
    sk,
    message_uuid: messageUuid,
    message: text,
    user_uuid: sender.uuid,
    user_display_name: sender.displayName,
    user_handle: sender.handle,
    ...(seq === undefined ? {} : { seq }),
  }
}

export const tombstoneItem = (groupUuid: string, sk: string, seq: number): TombstoneItem => ({ pk: messagePk(groupUuid), sk, seq, tombstone: true })

export const isTombstone = (item: { tombstone?: unknown }): boolean => item.tombstone === true

/** The message uuid in a sort key of ours (`<time>#<uuid>`). */
export const skMessageUuid = (sk: string): string => sk.slice(sk.indexOf('#') + 1)

/**
 * The next sort key after `after` for a message made now: its time is now, unless the clock is behind
 * the conversation's latest message (another instance's clock, or the same millisecond), when it is
 * one millisecond past that. Keys stay unique and in the order of their reservation.
 */
export function nextMessageSk(after: string | undefined, messageUuid: string, now: Date): string {
  const candidate = messageSk(now.toISOString(), messageUuid)
  if (after === undefined || candidate > after) return candidate
  const bumped = new Date(Date.parse(skTimestamp(after)) + 1)
  return messageSk(bumped.toISOString(), messageUuid)
}

/** The other participant, as a participant's group item records them. */
export const otherOf = (item: GroupItem): UserShort => ({
  uuid: item.user_uuid,
  handle: item.user_handle,
  displayName: item.user_display_name,
})

/** The owner of a group item (from its partition key). */
export const ownerOf = (item: GroupItem): string => item.pk.slice(GROUP_PREFIX.length)

export function isGroupItem(x: Record<string, unknown>): x is GroupItem & Record<string, unknown> {
  return typeof x.pk === 'string' && x.pk.startsWith(GROUP_PREFIX) && typeof x.message_group_uuid === 'string'
}

// Cursors wrap LastEvaluatedKey-style positions. They name their partition, so a cursor of another
// conversation or user is refused rather than read (a raw key would let a client start anywhere).
const CURSOR_VERSION = 'c1'

export function encodeCursor(key: ItemKey): string {
  return `${CURSOR_VERSION}.${Buffer.from(JSON.stringify([key.pk, key.sk])).toString('base64url')}`
}

export class ForeignCursorError extends Error {
  override name = 'ForeignCursorError'
}

/** The position a cursor names, if it belongs to `pk`; throws ForeignCursorError otherwise. */
export function decodeCursor(cursor: string, pk: string): ItemKey {
  const [version, body] = cursor.split('.', 2)
  if (version === CURSOR_VERSION && body) {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
      if (Array.isArray(parsed) && parsed.length === 2 && parsed[0] === pk && typeof parsed[1] === 'string' && parsed[1].length > 0 && parsed[1].length <= 200) {
        return { pk, sk: parsed[1] }
      }
    } catch {
      // fall through: not ours
    }
  }
  throw new ForeignCursorError('cursor does not belong to this list')
}
