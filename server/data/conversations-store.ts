// Conversations and messages in DynamoDB: the original's access patterns, made correct without
// transactions or streams (dynalite has neither, and the same code must hold on AWS).
import { DeleteCommand, type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'
import type { Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
import { v5 as uuidv5 } from 'uuid'
import {
  decodeCursor,
  encodeCursor,
  GROUP_INDEX,
  type GroupItem,
  groupPk,
  isGroupItem,
  isTombstone,
  type MessageItem,
  messagePk,
  otherOf,
  ownerOf,
  toMessage,
  toMessageGroup,
} from './ddb-items.js'
import { createMessageWriter, type PostedMessage, type PostMessage } from './message-writer.js'
import { createReservations } from './reservations.js'

export type { PostedMessage, PostMessage } from './message-writer.js'

/** Namespace of the deterministic uuid two users' conversation gets (so concurrent starts agree). */
const PAIR_NAMESPACE = '3f0c1d5e-8a7b-4c2d-9e6f-1a2b3c4d5e6f'

export interface PageRequest {
  limit: number
  cursor?: string | undefined
}

/** One entry of a conversation's log, as a subscriber reads it: a message, or a settled empty place. */
export interface LogEntry {
  sk: string
  /** Absent on messages the original wrote (they come before every numbered one). */
  seq: number | undefined
  message: Message | null
}

/** A participant's view of a conversation, with the sort key that orders it in their list. */
export interface GroupRow {
  sk: string
  row: MessageGroup
}

export interface ConversationsStore {
  /** A user's conversations, newest first. */
  listGroups(userUuid: string, page: PageRequest): Promise<Page<MessageGroup>>
  /** A conversation's messages: the latest page first, oldest to newest within the page. */
  listMessages(groupUuid: string, page: PageRequest): Promise<Page<Message>>
  /** The other participant if `userUuid` belongs to the conversation; null if not (or no such one). */
  otherParticipant(groupUuid: string, userUuid: string): Promise<UserShort | null>
  /** The pair's existing conversation, or the one they would share. */
  conversationFor(a: string, b: string): Promise<string>
  /** Stores the message, then brings both participants' group items up to date (message-writer.ts). */
  post(post: PostMessage): Promise<PostedMessage>
  /** `post`, answering only the message (seeds, imports). */
  postMessage(post: PostMessage): Promise<Message>
  /** A conversation's log after `afterSk` (from it, when `inclusive`), oldest first, strongly consistent. */
  logAfter(groupUuid: string, afterSk: string, limit: number, inclusive?: boolean): Promise<LogEntry[]>
  /** The latest entry of a conversation's log, or undefined when it is empty. */
  lastLogEntry(groupUuid: string): Promise<LogEntry | undefined>
  /** The sort key of a user's newest conversation row, or undefined when they have none. */
  lastGroupSk(userUuid: string): Promise<string | undefined>
  /** The places reserved so far in a conversation (its head), or undefined when none. */
  head(groupUuid: string): Promise<{ lastSk: string; seq: number } | undefined>
  /** A user's conversation rows newer than `afterSk`, oldest first, each conversation once. */
  groupsAfter(userUuid: string, afterSk: string, limit: number): Promise<GroupRow[]>
}

type LogItem = MessageItem & { tombstone?: boolean }

const toLogEntry = (i: LogItem): LogEntry => ({ sk: i.sk, seq: i.seq, message: isTombstone(i) ? null : toMessage(i) })

export function createConversationsStore(
  ddb: DynamoDBDocumentClient,
  table: string,
  options: { /** How long a reserved place waits for its message (message-writer.ts). */ writeWindowMs?: number } = {},
): ConversationsStore {
  const reservations = createReservations(ddb, table)
  const writer = createMessageWriter(ddb, table, reservations, options.writeWindowMs)

  /** Every item of one query, following LastEvaluatedKey until the last page (or `enough`). */
  async function queryAll<T>(input: Omit<QueryCommandInput, 'TableName'>, enough = Infinity): Promise<T[]> {
    const items: T[] = []
    let start: Record<string, unknown> | undefined
    do {
      const out = await ddb.send(new QueryCommand({ ...input, TableName: table, ExclusiveStartKey: start }))
      items.push(...((out.Items ?? []) as T[]))
      start = out.LastEvaluatedKey
    } while (start && items.length < enough)
    return items
  }

  /** One participant's group items of one conversation (strongly consistent, unlike the index). */
  const groupItemsOf = (owner: string, groupUuid: string) =>
    queryAll<GroupItem>({
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'message_group_uuid = :g',
      ExpressionAttributeValues: { ':pk': groupPk(owner), ':g': groupUuid },
      ConsistentRead: true,
    })

  /** The newest item of a partition (strongly consistent). */
  async function newest<T>(pk: string): Promise<T[]> {
    const out = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: 1,
      }),
    )
    return (out.Items ?? []) as T[]
  }

  /** A page of one partition, newest first, with an exact nextCursor (one extra item is read). */
  async function pageOf<T extends { pk: string; sk: string }>(
    pk: string,
    page: PageRequest,
    distinct?: (item: T) => string,
  ): Promise<{ items: T[]; nextCursor: string | null }> {
    const stale: T[] = []
    const start = page.cursor ? decodeCursor(page.cursor, pk) : undefined
    const seen = new Set<string>()
    const items: T[] = []
    let exclusiveStart: Record<string, unknown> | undefined = start
    let more = false
    do {
      const out = await ddb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: page.limit + 1 - items.length,
          ExclusiveStartKey: exclusiveStart,
        }),
      )
      for (const raw of (out.Items ?? []) as T[]) {
        if (isTombstone(raw as { tombstone?: unknown })) continue
        // A conversation is briefly shown by two items while a message moves it up; show it once,
        // and delete the older item (what the write in progress, or one that crashed, leaves).
        const id = distinct?.(raw)
        if (id !== undefined) {
          if (seen.has(id)) {
            stale.push(raw)
            continue
          }
          seen.add(id)
        }
        if (items.length === page.limit) {
          more = true
          break
        }
        items.push(raw)
      }
      exclusiveStart = out.LastEvaluatedKey
    } while (!more && exclusiveStart)
    for (const item of stale) void ddb.send(new DeleteCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } })).catch(() => {})
    const last = items.at(-1)
    return { items, nextCursor: more && last ? encodeCursor({ pk: last.pk, sk: last.sk }) : null }
  }

  return {
    async listGroups(userUuid, page) {
      const { items, nextCursor } = await pageOf<GroupItem>(groupPk(userUuid), page, (i) => i.message_group_uuid)
      return { items: items.map(toMessageGroup), nextCursor }
    },

    async listMessages(groupUuid, page) {
      const { items, nextCursor } = await pageOf<MessageItem>(messagePk(groupUuid), page)
      return { items: items.reverse().map(toMessage), nextCursor }
    },

    async otherParticipant(groupUuid, userUuid) {
      // The sparse index holds only group items: the conversation's rows of both participants.
      const viaIndex = await queryAll<Record<string, unknown>>({
        IndexName: GROUP_INDEX,
        KeyConditionExpression: 'message_group_uuid = :g',
        ExpressionAttributeValues: { ':g': groupUuid },
      })
      let mine: GroupItem | undefined = viaIndex.filter(isGroupItem).find((i) => ownerOf(i) === userUuid)
      // The index is eventually consistent on AWS: before answering "not a member", ask the table.
      mine ??= (await groupItemsOf(userUuid, groupUuid))[0]
      return mine ? otherOf(mine) : null
    },

    async conversationFor(a, b) {
      const existing = await queryAll<GroupItem>(
        {
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'user_uuid = :other',
          ExpressionAttributeValues: { ':pk': groupPk(a), ':other': b },
          ConsistentRead: true,
        },
        1,
      )
      // New pairs get a uuid derived from both users, so two concurrent starts write one conversation.
      return existing[0]?.message_group_uuid ?? uuidv5([a, b].sort().join(':'), PAIR_NAMESPACE)
    },

    post: (post) => writer.post(post),
    postMessage: async (post) => (await writer.post(post)).message,

    async logAfter(groupUuid, afterSk, limit, inclusive = false) {
      const out = await ddb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: `pk = :pk AND sk ${inclusive ? '>=' : '>'} :after`,
          ExpressionAttributeValues: { ':pk': messagePk(groupUuid), ':after': afterSk },
          ConsistentRead: true,
          Limit: limit,
        }),
      )
      return ((out.Items ?? []) as LogItem[]).map(toLogEntry)
    },

    async lastLogEntry(groupUuid) {
      const [item] = await newest<LogItem>(messagePk(groupUuid))
      return item ? toLogEntry(item) : undefined
    },

    async lastGroupSk(userUuid) {
      return (await newest<GroupItem>(groupPk(userUuid)))[0]?.sk
    },

    head: (groupUuid) => reservations.head(groupUuid),

    async groupsAfter(userUuid, afterSk, limit) {
      const out = await ddb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk > :after',
          ExpressionAttributeValues: { ':pk': groupPk(userUuid), ':after': afterSk },
          ConsistentRead: true,
          Limit: limit,
        }),
      )
      // Oldest first; where a conversation shows twice (a move in progress), only its newest row.
      const newest = new Map<string, GroupItem>()
      for (const i of (out.Items ?? []) as GroupItem[]) newest.set(i.message_group_uuid, i)
      return [...newest.values()].sort((x, y) => (x.sk < y.sk ? -1 : 1)).map((i) => ({ sk: i.sk, row: toMessageGroup(i) }))
    },
  }
}
