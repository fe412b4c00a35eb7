import { MessagesCreateInput, MessagesOnCreatedInput } from '@cruddur/contracts'
import { protectedProcedure, router } from '../init.js'
import { queries } from '../queries.js'
import { subscriptions, trackedStream } from '../subscriptions.js'

const list = queries['messages.list']
const onCreated = subscriptions['messages.onCreated']

export const messagesRouter = router({
  list: protectedProcedure.input(list.input).query(({ ctx, input }) => list.resolve(ctx, input)),
  create: protectedProcedure.input(MessagesCreateInput).mutation(({ ctx, input }) => ctx.conversations.create(ctx.user, input)),
  onCreated: protectedProcedure.input(MessagesOnCreatedInput).subscription(async ({ ctx, input, signal }) => {
    const { expiresAt } = await ctx.session()
    return trackedStream(await onCreated.open(ctx, input, { expiresAt, signal, drop: ctx.dropConnection }))
  }),
})
