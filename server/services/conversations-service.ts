// What the procedures do, independent of tRPC: authorization and the write path.
import type { Message, MessageGroup, MessagesCreateInput, MessagesCreateOutput, Page, UserShort } from '@cruddur/contracts'
import type { ConversationsStore, PageRequest, PostedMessage } from '../data/conversations-store.js'
import { ClientMessageIdConflict, PlaceExpired } from '../data/message-writer.js'
import { ReservationContention } from '../data/reservations.js'
import { ForeignCursorError } from '../data/ddb-items.js'
import { ServiceError } from '../errors.js'
import type { Reads } from './reads.js'

/** Told after every acknowledged write, so caches drop what it changed and subscribers hear of it. */
export type OnMessagePosted = (posted: PostedMessage, sender: UserShort, recipient: UserShort, acknowledgedAt: number) => Promise<void>

const CONVERSATION_NOT_FOUND = 'conversation not found'

export interface ConversationsService {
  listGroups(caller: UserShort, page: PageRequest): Promise<Page<MessageGroup>>
  listMessages(caller: UserShort, groupUuid: string, page: PageRequest): Promise<Page<Message>>
  create(caller: UserShort, input: MessagesCreateInput): Promise<MessagesCreateOutput>
  /** Refuses (NOT_FOUND, as for a conversation that does not exist) unless the caller is a member. */
  assertMember(caller: UserShort, groupUuid: string): Promise<void>
}

async function pageOrBadCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (err) {
    if (err instanceof ForeignCursorError) throw new ServiceError('BAD_REQUEST', 'cursor does not belong to this list', { field: 'cursor' })
    throw err
  }
}

/** The write path's refusals as the API's: a reused clientMessageId, or a place that could not be had. */
async function postOrRefuse(post: () => Promise<PostedMessage>): Promise<PostedMessage> {
  try {
    return await post()
  } catch (err) {
    if (err instanceof ClientMessageIdConflict) throw new ServiceError('CONFLICT', err.message, { field: 'clientMessageId' })
    if (err instanceof PlaceExpired || err instanceof ReservationContention) {
      throw new ServiceError('SERVICE_UNAVAILABLE', 'the conversation is busy, try again', { retryAfterSeconds: 1 })
    }
    throw err
  }
}

export function createConversationsService(deps: {
  reads: Reads
  store: ConversationsStore
  onMessagePosted: OnMessagePosted
}): ConversationsService {
  const { reads, store, onMessagePosted } = deps

  async function assertMember(caller: UserShort, groupUuid: string): Promise<void> {
    // Not a member and no such conversation answer alike, so existence does not leak.
    if (!(await reads.otherParticipant(groupUuid, caller.uuid))) throw new ServiceError('NOT_FOUND', CONVERSATION_NOT_FOUND)
  }

  return {
    listGroups: (caller, page) => pageOrBadCursor(() => reads.listGroups(caller.uuid, page)),

    async listMessages(caller, groupUuid, page) {
      await assertMember(caller, groupUuid)
      return pageOrBadCursor(() => reads.listMessages(groupUuid, page))
    },

    assertMember,

    async create(caller, input) {
      let recipient: UserShort | null
      let groupUuid: string
      if ('handle' in input) {
        recipient = await reads.userByHandle(input.handle)
        if (!recipient) throw new ServiceError('NOT_FOUND', `no user with handle ${input.handle}`)
        if (recipient.uuid === caller.uuid) throw new ServiceError('BAD_REQUEST', 'you cannot message yourself', { field: 'handle' })
        groupUuid = await store.conversationFor(caller.uuid, recipient.uuid)
      } else {
        groupUuid = input.messageGroupUuid
        recipient = await reads.otherParticipant(groupUuid, caller.uuid)
        if (!recipient) throw new ServiceError('NOT_FOUND', CONVERSATION_NOT_FOUND)
      }
      const posted = await postOrRefuse(() =>
        store.post({ groupUuid, sender: caller, recipient, text: input.message, clientMessageId: input.clientMessageId }),
      )
      // Only after DynamoDB acknowledged the write.
      await onMessagePosted(posted, caller, recipient, Date.now())
      return { messageGroupUuid: groupUuid, message: posted.message }
    },
  }
}
