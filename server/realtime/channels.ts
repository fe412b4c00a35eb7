// What the bus carries: one channel per conversation (new messages) and one per user (their rows),
// each named with the hash tag of the data it announces, so on a Redis Cluster a channel lives in the
// slot of its conversation's or user's cache entries (sharded pub/sub routes by that slot).
import type { Message, MessageGroup } from '@cruddur/contracts'

/** A message stored in a conversation: its sort key (the event id), its place, when it was acknowledged. */
export interface MessageEvent {
  sk: string
  seq: number
  message: Message
  /** When DynamoDB acknowledged the create's writes (ms since the epoch), for the delivery-latency metric. */
  at: number
}

/** A conversation row of one user, as their list now shows it at the top. */
export interface GroupEvent {
  sk: string
  row: MessageGroup
  at: number
}

export const channels = (prefix: string) => ({
  conversation: (groupUuid: string) => `${prefix}:v1:{c:${groupUuid}}:events`,
  user: (userUuid: string) => `${prefix}:v1:{u:${userUuid}}:events`,
})

export type Channels = ReturnType<typeof channels>

/** Parses a bus payload; undefined for anything malformed (another version's, say): ignored. */
export function parseEvent<T extends MessageEvent | GroupEvent>(payload: string, kind: T extends MessageEvent ? 'message' : 'group'): T | undefined {
  try {
    const e = JSON.parse(payload) as Partial<MessageEvent & GroupEvent>
    if (typeof e.sk !== 'string' || typeof e.at !== 'number') return undefined
    if (kind === 'message' && (typeof e.seq !== 'number' || typeof e.message !== 'object')) return undefined
    if (kind === 'group' && typeof e.row !== 'object') return undefined
    return e as T
  } catch {
    return undefined
  }
}
