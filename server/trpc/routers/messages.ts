import { MessagesCreateInput, MessagesListInput, MessagesOnCreatedInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'
import { trackedStream } from '../subscriptions.js'

export const messagesRouter = router({
  list: protectedProcedure
    .input(MessagesListInput)
    .query(({ ctx, input }) => ctx.conversations.listMessages(ctx.user, input.messageGroupUuid, input)),
  create: protectedProcedure.input(MessagesCreateInput).mutation(({ ctx, input }) => ctx.conversations.create(ctx.user, input)),
  /** Every message created in the conversation from now (or after lastEventId), in order, each once. */
  onCreated: protectedProcedure.input(MessagesOnCreatedInput).subscription(async ({ ctx, input, signal }) => {
    // Members only, with the same answer as messages.list for anyone else.
    await ctx.conversations.assertMember(ctx.user, input.messageGroupUuid)
    const { expiresAt } = await ctx.session()
    return trackedStream(ctx.realtime.messages(ctx.user, input.messageGroupUuid, input.lastEventId, { expiresAt, signal, drop: ctx.dropConnection }))
  }),
})
