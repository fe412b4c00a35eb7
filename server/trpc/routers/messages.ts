import { MessagesCreateInput, MessagesListInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'

export const messagesRouter = router({
  list: protectedProcedure
    .input(MessagesListInput)
    .query(({ ctx, input }) => ctx.conversations.listMessages(ctx.user, input.messageGroupUuid, input)),
  create: protectedProcedure.input(MessagesCreateInput).mutation(({ ctx, input }) => ctx.conversations.create(ctx.user, input)),
})
