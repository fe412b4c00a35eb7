import { MessageGroupsListInput, MessageGroupsOnChangedInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'
import { subscriptions, trackedStream } from '../subscriptions.js'

const onChanged = subscriptions['messageGroups.onChanged']

export const messageGroupsRouter = router({
  list: protectedProcedure.input(MessageGroupsListInput).query(({ ctx, input }) => ctx.conversations.listGroups(ctx.user, input)),
  onChanged: protectedProcedure.input(MessageGroupsOnChangedInput).subscription(async ({ ctx, input, signal }) => {
    const { expiresAt } = await ctx.session()
    return trackedStream(await onChanged.open(ctx, input, { expiresAt, signal, drop: ctx.dropConnection }))
  }),
})
