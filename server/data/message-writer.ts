// The write path of a message, correct without transactions or streams (dynalite has neither, and
// the same code must hold on AWS), at a cost that does not grow with concurrency:
//
//   reserve a place (1 update, shared by concurrent creates of this instance; server/data/reservations.ts)
//   [with a clientMessageId: read (1) and then put (1) the sender's record of it]
//   put the message (1), conditional: a place is written once
//   bring both participants' group items up to date: put the new ones (2), delete the ones of the
//   previous place (2), look for newer ones of the conversation (2) and, if there are, delete the new
//   ones again (2)
//
// Group items converge on one per participant, the latest: whoever writes place n deletes the group
// items of place n-1 after putting its own, and whoever put the items of place n-1 after that delete
// finds the newer items when it looks, and deletes its own. A place that never gets its message (a
// failed write) puts no items, so the previous ones stay: the conversation never drops out of a list.
// What a crash between the steps leaves (two items of one conversation) lists show once and delete
// on reading (read repair, server/data/conversations-store.ts).
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { Message, UserShort } from '@cruddur/contracts'
import { v7 as uuidv7 } from 'uuid'
import {
  type GroupItem,
  groupItem,
  groupPk,
  isTombstone,
  messageItem,
  type MessageItem,
  type SentItem,
  sentKey,
  toMessage,
  tombstoneItem,
} from './ddb-items.js'
import { isConditionFailure } from './dynamo.js'
import { type Reservation, type Reservations } from './reservations.js'

export interface PostMessage {
  groupUuid: string
  sender: UserShort
  recipient: UserShort
  text: string
  /** For seeds and imports; a live message takes the current time. */
  createdAt?: Date
  /** The sender's id for this message: a repeat answers the first attempt's message. */
  clientMessageId?: string | undefined
}

export interface PostedMessage {
  message: Message
  groupUuid: string
  /** The message's sort key and place in the conversation. */
  sk: string
  seq: number
  /** True when clientMessageId named an earlier attempt (its message is answered, nothing new is stored). */
  repeated: boolean
}

/** A clientMessageId the sender already used for another message or conversation. */
export class ClientMessageIdConflict extends Error {
  override name = 'ClientMessageIdConflict'
}

/** A reserved place whose message came too late to be written (subscribers may have given up on it). */
export class PlaceExpired extends Error {
  override name = 'PlaceExpired'
}

/**
 * How long after its reservation a place may still receive its message. Subscribers that see a gap
 * wait at least twice this long before skipping it (server/realtime/), so a message written in time is
 * never skipped, and one that would be too late is refused (its writer answers 503, and a retry with
 * the same clientMessageId gets a new place).
 */
export const WRITE_WINDOW_MS = 5_000

/** Retries come within minutes; a week of records per sender is plenty (DynamoDB TTL attribute). */
const SENT_TTL_SECONDS = 7 * 24 * 3600

export function createMessageWriter(ddb: DynamoDBDocumentClient, table: string, reservations: Reservations, writeWindowMs = WRITE_WINDOW_MS) {
  const put = (Item: object, condition?: string) =>
    ddb.send(new PutCommand({ TableName: table, Item, ...(condition ? { ConditionExpression: condition } : {}) }))
  const del = (pk: string, sk: string) => ddb.send(new DeleteCommand({ TableName: table, Key: { pk, sk } }))

  /** Writes a tombstone at a place; false when the message got there first. */
  async function bury(groupUuid: string, sk: string, seq: number): Promise<boolean> {
    try {
      await put(tombstoneItem(groupUuid, sk, seq), 'attribute_not_exists(pk)')
      return true
    } catch (err) {
      if (isConditionFailure(err)) return false
      throw err
    }
  }

  /** Puts the message at its place; false when something (the same message, or a tombstone) is there. */
  async function putMessage(item: MessageItem, reservedAt: number): Promise<boolean> {
    if (Date.now() - reservedAt > writeWindowMs) throw new PlaceExpired('the reserved place expired before its message was written')
    try {
      await put(item, 'attribute_not_exists(pk)')
      return true
    } catch (err) {
      if (isConditionFailure(err)) return false
      throw err
    }
  }

  /** Both participants' group items show the message at `sk` (see the header). */
  async function advanceGroups(groupUuid: string, sender: UserShort, recipient: UserShort, sk: string, prev: string | undefined, text: string) {
    const views: [owner: string, other: UserShort][] = [
      [sender.uuid, recipient],
      [recipient.uuid, sender],
    ]
    await Promise.all(views.map(([owner, other]) => put(groupItem(owner, other, groupUuid, sk, text))))
    await Promise.all(
      views.map(async ([owner]) => {
        const [newer] = await Promise.all([
          groupItemsOf(owner, groupUuid, 'sk > :sk', sk),
          prev === undefined ? dropOlderGroupItems(owner, groupUuid, sk) : del(groupPk(owner), prev),
        ])
        // A newer message's items are there: it may have deleted ours before ours landed.
        if (newer.length > 0) await del(groupPk(owner), sk)
      }),
    )
  }

  /** One owner's group items of one conversation on one side of `sk` (strongly consistent). */
  async function groupItemsOf(owner: string, groupUuid: string, condition: 'sk > :sk' | 'sk < :sk', sk: string): Promise<GroupItem[]> {
    const out = await ddb.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: `pk = :pk AND ${condition}`,
        FilterExpression: 'message_group_uuid = :g',
        ExpressionAttributeValues: { ':pk': groupPk(owner), ':sk': sk, ':g': groupUuid },
        ConsistentRead: true,
      }),
    )
    return (out.Items ?? []) as GroupItem[]
  }

  /**
   * The first message after the head was made (a new conversation, or one the original wrote) has no
   * previous place to name: it reads the owner's older items of the conversation and deletes them.
   */
  async function dropOlderGroupItems(owner: string, groupUuid: string, sk: string) {
    const older = await groupItemsOf(owner, groupUuid, 'sk < :sk', sk)
    await Promise.all(older.map((i) => del(i.pk, i.sk)))
  }

  const getSent = async (sender: string, clientMessageId: string) =>
    (await ddb.send(new GetCommand({ TableName: table, Key: sentKey(sender, clientMessageId), ConsistentRead: true }))).Item as
      | SentItem
      | undefined

  function sentItem(post: PostMessage & { clientMessageId: string }, messageUuid: string, r: Reservation): SentItem {
    return {
      ...sentKey(post.sender.uuid, post.clientMessageId),
      group_uuid: post.groupUuid,
      message: post.text,
      message_uuid: messageUuid,
      message_sk: r.sk,
      seq: r.seq,
      ...(r.prev === undefined ? {} : { prev_sk: r.prev }),
      recipient_uuid: post.recipient.uuid,
      recipient_handle: post.recipient.handle,
      recipient_display_name: post.recipient.displayName,
      reserved_at: r.at,
      expires_at: Math.floor(Date.now() / 1000) + SENT_TTL_SECONDS,
    }
  }

  async function finish(post: PostMessage, item: MessageItem, prev: string | undefined, repeated: boolean): Promise<PostedMessage> {
    await advanceGroups(post.groupUuid, post.sender, post.recipient, item.sk, prev, post.text)
    return { message: toMessage(item), groupUuid: post.groupUuid, sk: item.sk, seq: item.seq ?? 0, repeated }
  }

  /**
   * A clientMessageId seen before: answer its message, finishing whatever the first attempt left
   * undone (it may have failed, or be lost, after any step).
   */
  async function repeat(post: PostMessage & { clientMessageId: string }, sent: SentItem): Promise<PostedMessage> {
    if (sent.group_uuid !== post.groupUuid || sent.message !== post.text) {
      throw new ClientMessageIdConflict('clientMessageId was already used for another message')
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const item = messageItem(sent.group_uuid, post.sender, sent.message_uuid, sent.message_sk, sent.message, sent.seq)
      const stored = (await ddb.send(new GetCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }))).Item
      if (stored && !isTombstone(stored)) return finish(post, item, sent.prev_sk, true)
      if (!stored && Date.now() - sent.reserved_at <= writeWindowMs) {
        // The first attempt reserved the place recently: write the message there (the first attempt,
        // if still running, writes the very same item; one of the two puts wins).
        await putMessage(item, sent.reserved_at)
        return finish(post, item, sent.prev_sk, true)
      }
      // The place is too old to fill: make sure the first attempt can never fill it, then move the
      // message to a new place and the record with it.
      if (!stored && !(await bury(sent.group_uuid, sent.message_sk, sent.seq))) continue // it got written meanwhile
      const r = await reservations.reserve(post.groupUuid, sent.message_uuid)
      const moved: SentItem = { ...sent, message_sk: r.sk, seq: r.seq, reserved_at: r.at, ...(r.prev === undefined ? {} : { prev_sk: r.prev }) }
      if (r.prev === undefined) delete moved.prev_sk
      try {
        await ddb.send(
          new PutCommand({ TableName: table, Item: moved, ConditionExpression: 'message_sk = :old', ExpressionAttributeValues: { ':old': sent.message_sk } }),
        )
      } catch (err) {
        if (!isConditionFailure(err)) throw err
        await bury(post.groupUuid, r.sk, r.seq) // another repeat moved it first: this new place stays empty
        sent = (await getSent(post.sender.uuid, post.clientMessageId)) ?? sent
        continue
      }
      sent = moved
    }
    throw new PlaceExpired('could not settle the place of a repeated message')
  }

  async function post(p: PostMessage): Promise<PostedMessage> {
    const keyed = p.clientMessageId === undefined ? undefined : { ...p, clientMessageId: p.clientMessageId }
    if (keyed) {
      const sent = await getSent(p.sender.uuid, keyed.clientMessageId)
      if (sent) return repeat(keyed, sent)
    }
    const messageUuid = uuidv7()
    const r = await reservations.reserve(p.groupUuid, messageUuid, p.createdAt)
    try {
      if (keyed) {
        try {
          await put(sentItem(keyed, messageUuid, r), 'attribute_not_exists(pk)')
        } catch (err) {
          if (!isConditionFailure(err)) throw err
          // A concurrent attempt with the same id recorded itself first: this place stays empty.
          await bury(p.groupUuid, r.sk, r.seq)
          return await repeat(keyed, (await getSent(p.sender.uuid, keyed.clientMessageId))!)
        }
      }
      const item = messageItem(p.groupUuid, p.sender, messageUuid, r.sk, p.text, r.seq)
      if (!(await putMessage(item, r.at))) {
        // Only a repeat that found this place too old buries it: it has moved the message elsewhere.
        if (keyed) return await repeat(keyed, (await getSent(p.sender.uuid, keyed.clientMessageId))!)
        throw new PlaceExpired('the reserved place was taken')
      }
      return await finish(p, item, r.prev, false)
    } catch (err) {
      // Settle the place, so subscribers need not wait for it: the condition makes this a no-op
      // where the message did get written (a lost answer), and a repeat moves a buried message on.
      // In the background: during an outage it would only delay the answer.
      void bury(p.groupUuid, r.sk, r.seq).catch(() => false)
      throw err
    }
  }

  return { post }
}

export type MessageWriter = ReturnType<typeof createMessageWriter>
