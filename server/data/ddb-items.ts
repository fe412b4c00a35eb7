// The DynamoDB item layout of the original Cruddur (table `cruddur-messages`), in one place: key
// prefixes, attribute names, sort-key and timestamp formats, and cursors. Nothing else in the code
// knows how an item is spelled.
import type { Message, MessageGroup, UserShort } from '@cruddur/contracts'

export const GROUP_INDEX = 'message-group-sk-index'
const GROUP_PREFIX = 'GRP#'
const MESSAGE_PREFIX = 'MSG#'

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
}

export type ItemKey = { pk: string; sk: string }

export const groupPk = (userUuid: string): string => GROUP_PREFIX + userUuid
export const messagePk = (groupUuid: string): string => MESSAGE_PREFIX + groupUuid

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

export function messageItem(groupUuid: string, sender: UserShort, messageUuid: string, createdAt: string, text: string): MessageItem {
  return {
    pk: messagePk(groupUuid),
    sk: messageSk(createdAt, messageUuid),
    message_uuid: messageUuid,
    message: text,
    user_uuid: sender.uuid,
    user_display_name: sender.displayName,
    user_handle: sender.handle,
  }
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
