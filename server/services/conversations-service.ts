// What the procedures do, independent of tRPC: authorization and the write path.
import type { Message, MessageGroup, MessagesCreateInput, MessagesCreateOutput, Page, UserShort } from '@cruddur/contracts'
import type { ConversationsStore, PageRequest } from '../data/conversations-store.js'
import { ForeignCursorError } from '../data/ddb-items.js'
import { ServiceError } from '../errors.js'
import type { Reads } from './reads.js'

/** Told after every acknowledged write, so caches can drop what it changed. */
export type OnMessagePosted = (groupUuid: string, participants: [string, string]) => Promise<void>

const CONVERSATION_NOT_FOUND = 'conversation not found'

export interface ConversationsService {
  listGroups(caller: UserShort, page: PageRequest): Promise<Page<MessageGroup>>
  listMessages(caller: UserShort, groupUuid: string, page: PageRequest): Promise<Page<Message>>
  create(caller: UserShort, input: MessagesCreateInput): Promise<MessagesCreateOutput>
}

async function pageOrBadCursor<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (err) {
    if (err instanceof ForeignCursorError) throw new ServiceError('BAD_REQUEST', 'cursor does not belong to this list', { field: 'cursor' })
    throw err
  }
}

export function createConversationsService(deps: {
  reads: Reads
  store: ConversationsStore
  onMessagePosted: OnMessagePosted
}): ConversationsService {
  const { reads, store, onMessagePosted } = deps
  return {
    listGroups: (caller, page) => pageOrBadCursor(() => reads.listGroups(caller.uuid, page)),

    async listMessages(caller, groupUuid, page) {
      // Not a member and no such conversation answer alike, so existence does not leak.
      if (!(await reads.otherParticipant(groupUuid, caller.uuid))) throw new ServiceError('NOT_FOUND', CONVERSATION_NOT_FOUND)
      return pageOrBadCursor(() => reads.listMessages(groupUuid, page))
    },

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
      const message = await store.postMessage({ groupUuid, sender: caller, recipient, text: input.message })
      // Only after DynamoDB acknowledged the write.
      await onMessagePosted(groupUuid, [caller.uuid, recipient.uuid])
      return { messageGroupUuid: groupUuid, message }
    },
  }
}
