// A TCP proxy in front of a real service, so a test can cut the service off (and bring it back)
// without stopping it for everyone else, and count what goes through.
import { createServer, type Server, type Socket, connect } from 'node:net'
import { Transform } from 'node:stream'
import type { Test } from 'tap'

export interface TcpProxy {
  /** host:port of the proxy. */
  host: string
  port: number
  /** Connections accepted so far. */
  connections(): number
  /** Closes every open connection and refuses new ones until `restore`. */
  cut(): void
  restore(): void
  /** Holds each chunk the service answers for `ms`, in turn, before passing it on (0: at once). */
  lag(ms: number): void
  close(): Promise<void>
}

/**
 * `target` may be a list: each connection goes to the first that accepts it (a load balancer's
 * failover), so a client reconnecting after one instance stopped reaches the next.
 */
export async function tcpProxy(t: Test | undefined, target: { host: string; port: number } | { host: string; port: number }[]): Promise<TcpProxy> {
  const targets = Array.isArray(target) ? target : [target]
  const sockets = new Set<Socket>()
  let refusing = false
  let accepted = 0
  let lagMs = 0
  const lagging = () =>
    new Transform({
      transform(chunk, _encoding, done) {
        if (lagMs > 0) setTimeout(() => { done(null, chunk) }, lagMs)
        else done(null, chunk)
      },
    })
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    accepted++
    client.pause()
    sockets.add(client)
    const attach = (i: number) => {
      const upstream = connect(targets[i]!.port, targets[i]!.host)
      let connected = false
      upstream.once('error', () => {
        // Refused before it was connected: the next target, if any.
        if (!connected && i + 1 < targets.length) attach(i + 1)
        else client.destroy()
      })
      upstream.once('connect', () => {
        connected = true
        sockets.add(upstream)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
        client.pipe(upstream)
        upstream.pipe(lagging()).pipe(client)
        client.resume()
      })
    }
    attach(0)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve() }))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const proxy: TcpProxy = {
    host: '127.0.0.1',
    port,
    connections: () => accepted,
    cut() {
      refusing = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore() {
      refusing = false
    },
    lag(ms) {
      lagMs = ms
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut()
        server.close(() => { resolve() })
      }),
  }
  t?.teardown(() => proxy.close())
  return proxy
}
