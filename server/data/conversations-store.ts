// Conversations and messages in DynamoDB: the original's access patterns, made correct without
// transactions or streams (dynalite has neither, and the same code must hold on AWS).
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb'
import type { Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid'
import {
  decodeCursor,
  encodeCursor,
  GROUP_INDEX,
  type GroupItem,
  groupItem,
  groupPk,
  isGroupItem,
  messageItem,
  type MessageItem,
  messagePk,
  otherOf,
  ownerOf,
  toMessage,
  toMessageGroup,
} from './ddb-items.js'

/** Namespace of the deterministic uuid two users' conversation gets (so concurrent starts agree). */
const PAIR_NAMESPACE = '3f0c1d5e-8a7b-4c2d-9e6f-1a2b3c4d5e6f'

export interface PageRequest {
  limit: number
  cursor?: string | undefined
}

export interface PostMessage {
  groupUuid: string
  sender: UserShort
  recipient: UserShort
  text: string
  /** For seeds and imports; a live message takes the current time. */
  createdAt?: Date
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
  /** Stores the message, then brings both participants' group items up to date. */
  postMessage(post: PostMessage): Promise<Message>
}

export function createConversationsStore(ddb: DynamoDBDocumentClient, table: string): ConversationsStore {
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

  /**
   * Makes `owner`'s view of the conversation show the message with sort key `sk`, unless a newer one
   * already does. Put first (idempotent: sort keys are unique), then delete every older item of the
   * pair. Whoever puts the newest item deletes all older ones it sees, and whoever puts an older one
   * sees the newer item when it looks and deletes its own: concurrent messages converge on exactly
   * one item, the latest, with no transaction and no lost update.
   */
  async function advanceGroup(owner: string, other: UserShort, groupUuid: string, sk: string, text: string) {
    await ddb.send(new PutCommand({ TableName: table, Item: groupItem(owner, other, groupUuid, sk, text) }))
    const items = await groupItemsOf(owner, groupUuid)
    const newest = items.reduce((max, i) => (i.sk > max ? i.sk : max), sk)
    await Promise.all(
      items
        .filter((i) => i.sk < newest)
        .map((i) => ddb.send(new DeleteCommand({ TableName: table, Key: { pk: i.pk, sk: i.sk } }))),
    )
  }

  /** A page of one partition, newest first, with an exact nextCursor (one extra item is read). */
  async function pageOf<T extends { pk: string; sk: string }>(
    pk: string,
    page: PageRequest,
    distinct?: (item: T) => string,
  ): Promise<{ items: T[]; nextCursor: string | null }> {
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
        // A conversation is briefly shown by two items while a message moves it up; show it once.
        const id = distinct?.(raw)
        if (id !== undefined) {
          if (seen.has(id)) continue
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

    async postMessage({ groupUuid, sender, recipient, text, createdAt }) {
      const item = messageItem(groupUuid, sender, uuidv7(), (createdAt ?? new Date()).toISOString(), text)
      // Unique sort key, and the condition makes sure nothing is ever overwritten.
      await ddb.send(new PutCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }))
      await Promise.all([
        advanceGroup(sender.uuid, recipient, groupUuid, item.sk, text),
        advanceGroup(recipient.uuid, sender, groupUuid, item.sk, text),
      ])
      return toMessage(item)
    },
  }
}
