// The read path: what the API reads, behind one interface so the cache can wrap it.
import type { Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
import type { ConversationsStore, PageRequest } from '../data/conversations-store.js'
import type { User, UsersRepository } from '../data/users-repository.js'

export interface Reads {
  userBySub(sub: string): Promise<UserShort | null>
  userByHandle(handle: string): Promise<UserShort | null>
  listGroups(userUuid: string, page: PageRequest): Promise<Page<MessageGroup>>
  listMessages(groupUuid: string, page: PageRequest): Promise<Page<Message>>
  otherParticipant(groupUuid: string, userUuid: string): Promise<UserShort | null>
}

const short = (u: User | null): UserShort | null => (u ? { uuid: u.uuid, handle: u.handle, displayName: u.displayName } : null)

/** Reads straight from PostgreSQL and DynamoDB. */
export function directReads(users: UsersRepository, store: ConversationsStore): Reads {
  return {
    userBySub: async (sub) => short(await users.findByCognitoUserId(sub)),
    userByHandle: async (handle) => short(await users.findByHandle(handle)),
    listGroups: (userUuid, page) => store.listGroups(userUuid, page),
    listMessages: (groupUuid, page) => store.listMessages(groupUuid, page),
    otherParticipant: (groupUuid, userUuid) => store.otherParticipant(groupUuid, userUuid),
  }
}
