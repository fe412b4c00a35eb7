// A light subscriber, for many at once (the bench opens thousands): one HTTP connection per
// subscription, tRPC's SSE wire format parsed by hand (thousands of @cruddur/client subscriptions
// would measure the client, not the server). Like an EventSource it reconnects when the stream ends,
// sending Last-Event-ID.
import { Agent, request } from 'node:http'

export interface SseEvent {
  id: string
  data: unknown
  /** performance.now() when the event's last byte arrived. */
  at: number
}

export interface SseSubscription {
  readonly received: SseEvent[]
  /** Connections made (the first, and each reconnect). */
  connects: number
  /** Resolves once the server has sent `connected` on the current connection. */
  connected(): Promise<void>
  close(): void
}

export interface SseOptions {
  /** Base URL of the server, or a function giving the one to (re)connect to. */
  url: string | (() => string)
  path: string
  input: unknown
  token: string
  /** Wait before reconnecting (an EventSource waits 3 s). */
  reconnectMs?: number
  onEvent?(e: SseEvent): void
  /** Keep only a count of events, not the events (memory runs). */
  countOnly?: boolean
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity })

export function subscribe(options: SseOptions): SseSubscription & { count: number } {
  let closed = false
  let lastEventId: string | undefined
  let current: ReturnType<typeof request> | undefined
  let waiters: (() => void)[] = []
  let isConnected = false
  const sub = {
    received: [] as SseEvent[],
    count: 0,
    connects: 0,
    connected: () => (isConnected ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    close() {
      closed = true
      current?.destroy()
    },
  }

  const connect = () => {
    if (closed) return
    sub.connects++
    isConnected = false
    const base = typeof options.url === 'function' ? options.url() : options.url
    const params = new URLSearchParams({ connectionParams: JSON.stringify({ token: options.token }) })
    // No input, no parameter: JSON.stringify(undefined) would send the text "undefined".
    if (options.input !== undefined) params.set('input', JSON.stringify(options.input))
    const req = request(`${base}/trpc/${options.path}?${params}`, {
      agent,
      headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    })
    current = req
    const again = () => {
      if (closed || current !== req) return
      current = undefined
      setTimeout(connect, options.reconnectMs ?? 3000).unref()
    }
    req.on('error', again)
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        res.on('end', again)
        return
      }
      res.setEncoding('utf8')
      let buffer = ''
      res.on('data', (chunk: string) => {
        buffer += chunk
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          let event = 'message'
          let data = ''
          let id: string | undefined
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data += line.slice(6)
            else if (line.startsWith('id: ')) id = line.slice(4)
          }
          if (event === 'connected') {
            isConnected = true
            for (const w of waiters.splice(0)) w()
          } else if (event === 'message' && id !== undefined && data === '') {
            lastEventId = id // a starting point: it sets the id to resume from, and is no event
          } else if (event === 'message' && id !== undefined) {
            lastEventId = id
            sub.count++
            const e = { id, data: options.countOnly ? null : (JSON.parse(data) as unknown), at: performance.now() }
            if (!options.countOnly) sub.received.push(e)
            options.onEvent?.(e)
          }
        }
      })
      res.on('end', again)
      res.on('error', again)
    })
    req.end()
  }
  connect()
  waiters = waiters.slice()
  return sub
}
