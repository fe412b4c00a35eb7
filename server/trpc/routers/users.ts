import { protectedProcedure, router } from '../init.js'
import { queries } from '../queries.js'

const { 'users.me': me, 'users.short': short } = queries

export const usersRouter = router({
  me: protectedProcedure.query(({ ctx }) => me.resolve(ctx)),
  short: protectedProcedure.input(short.input).query(({ ctx, input }) => short.resolve(ctx, input)),
})
