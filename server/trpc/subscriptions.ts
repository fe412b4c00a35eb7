// The subscriptions, defined once: their input, who may open them, and the stream they open. The
// routers serve them through tRPC's adapter; server/trpc/sse-path.ts serves the same definitions
// without the adapter's Fetch conversion.
import type { UserShort } from '@cruddur/contracts'
import { MessageGroupsOnChangedInput, MessagesOnCreatedInput } from '@cruddur/contracts'
import { tracked } from '@trpc/server'
import type { Realtime, StreamConnection } from '../realtime/hub.js'
import type { Delivery } from '../realtime/message-feed.js'
import type { ConversationsService } from '../services/conversations-service.js'
import { errorOfRefusal } from './errors.js'

export interface SubscriptionContext {
  user: UserShort
  conversations: Pick<ConversationsService, 'assertMember'>
  realtime: Realtime
}

export const subscriptions = {
  'messages.onCreated': {
    input: MessagesOnCreatedInput,
    /** Every message created in the conversation from now (or after lastEventId), in order, each once. */
    async open(ctx: SubscriptionContext, input: MessagesOnCreatedInput, conn: StreamConnection) {
      // Members only, with the same answer as messages.list for anyone else.
      await ctx.conversations.assertMember(ctx.user, input.messageGroupUuid)
      return ctx.realtime.messages(ctx.user, input.messageGroupUuid, input.lastEventId, conn)
    },
  },
  'messageGroups.onChanged': {
    input: MessageGroupsOnChangedInput,
    /** The caller's conversation rows, each time one gets a message, as the list would show it at the top. */
    open(ctx: SubscriptionContext, input: MessageGroupsOnChangedInput, conn: StreamConnection) {
      return Promise.resolve(ctx.realtime.groups(ctx.user, input.lastEventId, conn))
    },
  },
}

export type SubscriptionPath = keyof typeof subscriptions

/**
 * A subscription's events as tRPC streams them: each with its id (tracked), so the client resumes
 * from the last one; refusals during the stream (an expired token) in their API code. A stream the
 * server ends for the client to resume (shutdown, a slow reader) ends abort-style, without tRPC's
 * `return` event, so the client's EventSource reconnects by itself.
 */
export async function* trackedStream<T>(deliveries: AsyncGenerator<Delivery<T>>) {
  try {
    // tRPC's events carry data: a bare starting point has no place among them (server/trpc/sse-path.ts sends it).
    for await (const d of deliveries) if (!d.position) yield tracked(d.id, d.data)
  } catch (err) {
    throw errorOfRefusal(err)
  }
}
