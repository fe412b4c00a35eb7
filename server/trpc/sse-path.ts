// Serves subscriptions without tRPC's Fetch Request/ReadableStream conversion, which holds about
// 100 KB per open stream on Node 20 (docs/benchmark.md): an idle subscription here holds its socket,
// its feed and a few closures. The same definitions (server/trpc/subscriptions.ts) and tRPC's SSE wire
// format: `connected` with the client options, `data`/`id` events, `ping`, `serialized-error` in the
// error formatter's shape, and an abort-style end (no `return` event) when the client should resume.
// Anything unusual, and every refusal before the stream starts, is left to the adapter, which answers
// it in its own words; test/server/trpc/sse-path.test.ts compares the two.
import { getTRPCErrorShape, TRPCError } from '@trpc/server'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Metrics } from '../metrics.js'
import type { Realtime } from '../realtime/hub.js'
import type { Delivery } from '../realtime/message-feed.js'
import type { ConversationsService } from '../services/conversations-service.js'
import { type ContextDeps, session } from './context.js'
import { type CountError, errorOfRefusal } from './errors.js'
import { SSE_CLIENT, SSE_PING_MS } from './init.js'
import { appRouter } from './router.js'
import { type SubscriptionPath, subscriptions } from './subscriptions.js'

const QUERY_KEYS = new Set(['input', 'connectionParams', 'lastEventId', 'Last-Event-Id'])

const HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
  vary: 'trpc-accept, accept',
  'x-content-type-options': 'nosniff',
}

const PING = 'event: ping\ndata: \n\n\n'

function parsed(text: unknown): { ok: true; value: unknown } | { ok: false } {
  if (text === undefined) return { ok: true, value: undefined }
  if (typeof text !== 'string') return { ok: false }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    return { ok: false }
  }
}

const isAbort = (err: unknown) => (err as { name?: unknown } | null)?.name === 'AbortError'

export interface SsePathDeps extends Pick<ContextDeps, 'verifier' | 'reads'> {
  conversations: ConversationsService
  realtime: Realtime
  metrics: Metrics
  countError: CountError
}

export function ssePath(deps: SsePathDeps) {
  return async function trySse(req: FastifyRequest<{ Params: { path: string } }>, reply: FastifyReply): Promise<boolean> {
    if (req.method !== 'GET' || req.headers['trpc-accept'] !== undefined) return false
    const path = req.params.path
    if (!Object.hasOwn(subscriptions, path)) return false
    const definition = subscriptions[path as SubscriptionPath]
    const query = req.query as Record<string, unknown>
    for (const key in query) if (!QUERY_KEYS.has(key)) return false
    const input = parsed(query.input)
    const params = parsed(query.connectionParams)
    if (!input.ok || !params.ok) return false
    // As the adapter does: the EventSource's Last-Event-ID header (or query) joins the input.
    const lastEventId = req.headers['last-event-id'] ?? query.lastEventId ?? query['Last-Event-Id']
    const raw = typeof lastEventId === 'string' ? { ...(input.value as object | undefined), lastEventId } : input.value
    const valid = definition.input.safeParse(raw)
    if (!valid.success) return false

    const started = performance.now()
    const header = req.headers.authorization
    const token = (params.value as { token?: unknown } | null | undefined)?.token
    const credential = typeof header === 'string' ? header : typeof token === 'string' ? `Bearer ${token}` : undefined
    const abort = new AbortController()
    let stream: AsyncGenerator<Delivery<unknown>>
    try {
      const caller = await session(deps, credential)
      const ctx = { user: caller.user, conversations: deps.conversations, realtime: deps.realtime }
      const conn = { expiresAt: caller.expiresAt, signal: abort.signal, drop: () => req.raw.destroy() }
      // The definitions' types differ by path; both open a stream of tracked deliveries.
      stream = await (definition.open as (c: typeof ctx, i: unknown, s: typeof conn) => Promise<typeof stream>)(ctx, valid.data, conn)
    } catch {
      return false // refused before streaming (token, membership): the adapter answers
    }
    deps.metrics.observeCall(path, 'OK', (performance.now() - started) / 1000)

    reply.hijack()
    const res = reply.raw
    res.on('close', () => { abort.abort() })
    res.writeHead(200, HEADERS)
    res.write(`event: connected\ndata: ${JSON.stringify(SSE_CLIENT)}\n\n\n`)
    const ping = setInterval(() => res.write(PING), SSE_PING_MS)
    try {
      for await (const d of stream) {
        // An id without data sets the client's last event id (the start, to resume from) and dispatches nothing.
        const event = d.position ? `id: ${d.id}\n\n` : `data: ${JSON.stringify(d.data)}\nid: ${d.id}\n\n\n`
        // Wait for a full socket to drain: meanwhile the feed's bounded queue fills, and overflows.
        if (!res.write(event)) await drained(res, abort.signal)
      }
      res.write('event: return\ndata: \n\n\n')
    } catch (cause) {
      if (!isAbort(cause)) {
        const error = errorOfRefusal(cause)
        const trpcError = error instanceof TRPCError ? error : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error })
        if (trpcError.code === 'INTERNAL_SERVER_ERROR') req.log.error({ err: cause, path }, 'subscription failed')
        deps.countError(path, trpcError.code)
        const shape = getTRPCErrorShape({ config: appRouter._def._config, error: trpcError, type: 'subscription', path, input: valid.data, ctx: undefined })
        res.write(`event: serialized-error\ndata: ${JSON.stringify(shape)}\n\n\n`)
      }
    } finally {
      clearInterval(ping)
      res.end()
    }
    return true
  }
}

function drained(res: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    res.once('drain', done)
    signal.addEventListener('abort', done)
  })
}
