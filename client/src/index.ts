// @cruddur/client: the typed client of Cruddur Messages. Its types come from @cruddur/contracts and
// the router's type as written out in router.ts (kept equal to the server's by a type test); no
// server code, and none of its types, are needed.
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  retryLink,
  splitLink,
  TRPCClientError,
  type TRPCLink,
} from '@trpc/client'
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import { observable } from '@trpc/server/observable'
import type { AppRouter } from './router.js'

export type { AppRouter }
export type { InputIssue, Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
export type RouterInputs = inferRouterInputs<AppRouter>
export type RouterOutputs = inferRouterOutputs<AppRouter>

/** A token, or a function that returns the current one (called per request, so refreshes just work). */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>)

/** The EventSource class subscriptions use: browsers have one; on Node 20 pass the `eventsource` package's. */
export type EventSourceClass = new (url: string, init?: { withCredentials?: boolean }) => EventSource

export interface ClientOptions {
  /** The server's base URL (`http://host:4567`) or its tRPC endpoint (`.../trpc`). */
  url: string
  token?: TokenSource
  /** Most calls a batch may carry (the server accepts 10 by default). */
  maxBatchSize?: number
  fetch?: typeof globalThis.fetch
  headers?: Record<string, string>
  /** For subscriptions where there is no global EventSource (Node 20): `import { EventSource } from 'eventsource'`. */
  EventSource?: EventSourceClass
  /** How many times a call that got no answer, or a 429/503, is tried in all (default 4). */
  attempts?: number
}

/** Failures worth another try: no answer at all, or the server asking for one later. */
const TRANSIENT = new Set(['TOO_MANY_REQUESTS', 'SERVICE_UNAVAILABLE', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT', 'TIMEOUT'])

function codeOf(error: TRPCClientError<AppRouter>): string | undefined {
  return (error.data as { code?: string } | null | undefined)?.code
}

/**
 * Gives every `messages.create` a clientMessageId unless the caller chose one (an app that retries a
 * failed send itself passes its own, the same each time): the retries below then store it once.
 */
const clientMessageIds: TRPCLink<AppRouter> = () => ({ op, next }) =>
  observable((observer) => {
    const input = op.input as Record<string, unknown> | undefined
    const withId =
      op.path === 'messages.create' && input && typeof input === 'object' && input.clientMessageId === undefined
        ? { ...op, input: { ...input, clientMessageId: globalThis.crypto.randomUUID() } }
        : op
    return next(withId).subscribe(observer)
  })

export function createClient(options: ClientOptions) {
  const base = options.url.replace(/\/+$/, '')
  const url = base.endsWith('/trpc') ? base : `${base}/trpc`
  const token = async () => (typeof options.token === 'function' ? await options.token() : options.token)
  const attempts = options.attempts ?? 4
  const EventSourceImpl = options.EventSource ?? (globalThis as { EventSource?: EventSourceClass }).EventSource
  const http = {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    async headers() {
      const t = await token()
      return { ...options.headers, ...(t ? { authorization: `Bearer ${t}` } : {}) }
    },
  }
  return createTRPCClient<AppRouter>({
    links: [
      clientMessageIds,
      retryLink({
        retry({ op, error, attempts: made }) {
          const code = codeOf(error)
          if (op.type === 'subscription') {
            // A stream ends when its token expires: reconnect with a fresh one, and resume.
            if (code === 'UNAUTHORIZED') return typeof options.token === 'function' && made < 3
            // A limit may be passing (a reconnect storm); one that holds is the caller's to see.
            if (code === 'TOO_MANY_REQUESTS') return made < 3
            return code === undefined || TRANSIENT.has(code)
          }
          // Queries read; creates carry their clientMessageId: both are safe to repeat.
          const repeatable = op.type === 'query' || op.path === 'messages.create'
          return repeatable && made < attempts && (code === undefined || TRANSIENT.has(code))
        },
        retryDelayMs: (attempt) => Math.min(250 * 2 ** attempt, 30_000),
      }),
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          ...(EventSourceImpl ? { EventSource: EventSourceImpl } : {}),
          // Browsers' EventSource cannot send headers: the token travels as connection parameters.
          connectionParams: async () => {
            const t = await token()
            return t ? { token: t } : {}
          },
        }),
        // Queries share requests; a create goes alone, as ten of the longest messages would not fit
        // the server's body limit together (and creates are rarely made side by side).
        false: splitLink({
          condition: (op) => op.type === 'query',
          true: httpBatchLink({ url, maxItems: options.maxBatchSize ?? 10, ...http }),
          false: httpLink({ url, ...http }),
        }),
      }),
    ],
  })
}

export type Client = ReturnType<typeof createClient>

/** An error answered by the server (or the transport), with typed `data.code`, `data.httpStatus`, `data.issues`. */
export type ClientError = TRPCClientError<AppRouter>

export function isClientError(err: unknown): err is ClientError {
  return err instanceof TRPCClientError
}
