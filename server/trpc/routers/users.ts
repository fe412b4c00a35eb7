import { UsersShortInput } from '@cruddur/contracts'
import { TRPCError } from '@trpc/server'
import { protectedProcedure, router } from '../init.js'

export const usersRouter = router({
  me: protectedProcedure.query(({ ctx }) => ctx.user),
  short: protectedProcedure.input(UsersShortInput).query(async ({ ctx, input }) => {
    const user = await ctx.reads.userByHandle(input.handle)
    if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `no user with handle ${input.handle}` })
    return user
  }),
})
