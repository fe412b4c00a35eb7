import { MessageGroupsListInput, MessageGroupsOnChangedInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'
import { trackedStream } from '../subscriptions.js'

export const messageGroupsRouter = router({
  list: protectedProcedure.input(MessageGroupsListInput).query(({ ctx, input }) => ctx.conversations.listGroups(ctx.user, input)),
  /** The caller's conversation rows, each time one gets a message, as the list would show it at the top. */
  onChanged: protectedProcedure.input(MessageGroupsOnChangedInput).subscription(async ({ ctx, input, signal }) => {
    const { expiresAt } = await ctx.session()
    return trackedStream(ctx.realtime.groups(ctx.user, input.lastEventId, { expiresAt, signal, drop: ctx.dropConnection }))
  }),
})
