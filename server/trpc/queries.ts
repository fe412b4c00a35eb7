// Each read procedure, defined once: its input, its full answer (through the service: reads, cache
// fills, membership, errors) and its answer from cache hits alone. The routers serve `resolve`; the GET
// fast path (fast-path.ts) serves `hit` and falls back to the router whenever `hit` has no answer, so a
// query added or changed here is changed for both paths.
import { MessageGroupsListInput, MessagesListInput, UsersShortInput, type UserShort } from '@cruddur/contracts'
import { TRPCError } from '@trpc/server'
import type { z } from 'zod'
import { type CacheHits, envelope, type HitBytes, type Kind } from '../cache/cached-reads.js'
import type { Context } from './context.js'

/** A protected procedure's context: the caller is known. */
export type CallerContext = Context & { user: UserShort }

export interface QueryDefinition<Schema extends z.ZodType, Output> {
  input: Schema
  /** The answer, as the router resolves it. */
  resolve(ctx: CallerContext, input: z.output<Schema>): Promise<Output> | Output
  /**
   * The call's answer as the adapter would send it, from cache hits only; undefined when anything is
   * missing (the request then takes the router's path, which reads, fills and refuses as `resolve` does).
   */
  hit: (caller: UserShort, input: z.output<Schema>, hits: CacheHits, tally: Kind[]) => HitBytes | Buffer
}

const define = <Schema extends z.ZodType, Output>(d: QueryDefinition<Schema, Output>) => d

export const queries = {
  'users.me': {
    // No input: tRPC ignores whatever is sent; so does the fast path.
    input: undefined,
    resolve: (ctx: CallerContext): UserShort => ctx.user,
    hit: (caller: UserShort): Buffer => Buffer.from(envelope(JSON.stringify(caller))),
  },
  'users.short': define({
    input: UsersShortInput,
    async resolve(ctx, input) {
      const user = await ctx.reads.userByHandle(input.handle)
      if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `no user with handle ${input.handle}` })
      return user
    },
    hit: (_caller, input, hits, tally) => hits.userByHandle(input.handle, tally),
  }),
  'messageGroups.list': define({
    input: MessageGroupsListInput,
    resolve: (ctx, input) => ctx.conversations.listGroups(ctx.user, input),
    hit: (caller, input, hits, tally) => hits.listGroups(caller.uuid, input, tally),
  }),
  'messages.list': define({
    input: MessagesListInput,
    // Members only: the service refuses others with NOT_FOUND; the hit path knows members only.
    resolve: (ctx, input) => ctx.conversations.listMessages(ctx.user, input.messageGroupUuid, input),
    hit(caller, input, hits, tally) {
      const member = hits.isParticipant(input.messageGroupUuid, caller.uuid, tally)
      // Known members (nearly every call) without a promise of their own.
      if (member === true) return hits.listMessages(input.messageGroupUuid, input, tally)
      if (member === false) return undefined
      return member.then((yes) => (yes ? hits.listMessages(input.messageGroupUuid, input, tally) : undefined))
    },
  }),
}

export type QueryPath = keyof typeof queries
