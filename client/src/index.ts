// @cruddur/client: the typed client of Cruddur Messages. Its types come from @cruddur/contracts and
// the server router's type; no server code runs here.
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from '../../server/trpc/router.js'

export type { AppRouter }
export type { InputIssue, Message, MessageGroup, Page, UserShort } from '@cruddur/contracts'
export type RouterInputs = inferRouterInputs<AppRouter>
export type RouterOutputs = inferRouterOutputs<AppRouter>

/** A token, or a function that returns the current one (called per request, so refreshes just work). */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>)

export interface ClientOptions {
  /** The server's base URL (`http://host:4567`) or its tRPC endpoint (`.../trpc`). */
  url: string
  token?: TokenSource
  /** Most calls a batch may carry (the server accepts at least 20). */
  maxBatchSize?: number
  fetch?: typeof globalThis.fetch
  headers?: Record<string, string>
}

export function createClient(options: ClientOptions) {
  const base = options.url.replace(/\/+$/, '')
  const url = base.endsWith('/trpc') ? base : `${base}/trpc`
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url,
        maxItems: options.maxBatchSize ?? 20,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        async headers() {
          const token = typeof options.token === 'function' ? await options.token() : options.token
          return { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) }
        },
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
