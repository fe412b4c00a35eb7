import { MessageGroupsOnChangedInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'
import { queries } from '../queries.js'
import { subscriptions, trackedStream } from '../subscriptions.js'

const list = queries['messageGroups.list']
const onChanged = subscriptions['messageGroups.onChanged']

export const messageGroupsRouter = router({
  list: protectedProcedure.input(list.input).query(({ ctx, input }) => list.resolve(ctx, input)),
  onChanged: protectedProcedure.input(MessageGroupsOnChangedInput).subscription(async ({ ctx, input, signal }) => {
    const { expiresAt } = await ctx.session()
    return trackedStream(await onChanged.open(ctx, input, { expiresAt, signal, drop: ctx.dropConnection }))
  }),
})
