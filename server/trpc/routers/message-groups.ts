import { MessageGroupsListInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'

export const messageGroupsRouter = router({
  list: protectedProcedure.input(MessageGroupsListInput).query(({ ctx, input }) => ctx.conversations.listGroups(ctx.user, input)),
})
