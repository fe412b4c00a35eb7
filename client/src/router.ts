// The API's router type, written out from the contracts: what @cruddur/client's types rest on, so
// that the published package needs nothing of the server (its declarations would pull in Fastify,
// ioredis, the AWS SDK...). test/client/router-type.ts makes `npm test` fail whenever this differs
// from the server's own `AppRouter` in any procedure's input, output or error shape.
import type {
  InputIssue,
  Message,
  MessageGroup,
  MessageGroupsOnChangedInput,
  MessagesCreateInput,
  MessagesOnCreatedInput,
  MessagesCreateOutput,
  Page,
  UserShort,
} from '@cruddur/contracts'
import type {
  TRPC_ERROR_CODE_KEY,
  TRPC_ERROR_CODE_NUMBER,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
} from '@trpc/server'
// What a `tracked()` event is on the server's side (@trpc/server exports it only from here).
import type { TrackedData } from '@trpc/server/unstable-core-do-not-import'

/** Every error's shape (server/trpc/errors.ts formatError). */
export interface ErrorShape {
  message: string
  code: TRPC_ERROR_CODE_NUMBER
  data: { issues?: InputIssue[] | undefined; code: TRPC_ERROR_CODE_KEY; httpStatus: number; path: string | undefined }
}

interface Def<I, O> {
  input: I
  output: O
  meta: object
  errorShape: ErrorShape
}
type Query<I, O> = TRPCQueryProcedure<Def<I, O>>
type Mutation<I, O> = TRPCMutationProcedure<Def<I, O>>
type Subscription<I, O> = TRPCSubscriptionProcedure<Def<I, AsyncIterable<TrackedData<O>, void, unknown>>>

type PageInput = { limit?: number | undefined; cursor?: string | undefined }
type Optional<T> = T | undefined

export type AppRouter = TRPCBuiltRouter<
  { ctx: object; meta: object; errorShape: ErrorShape; transformer: false },
  {
    users: {
      me: Query<void, UserShort>
      short: Query<{ handle: string }, UserShort>
    }
    messageGroups: {
      list: Query<Optional<PageInput>, Page<MessageGroup>>
      onChanged: Subscription<Optional<{ lastEventId?: MessageGroupsOnChangedInput['lastEventId'] }>, MessageGroup>
    }
    messages: {
      list: Query<{ messageGroupUuid: string; limit?: number | undefined; cursor?: string | undefined }, Page<Message>>
      create: Mutation<MessagesCreateInput, MessagesCreateOutput>
      onCreated: Subscription<{ messageGroupUuid: string; lastEventId?: MessagesOnCreatedInput['lastEventId'] }, Message>
    }
  }
>
