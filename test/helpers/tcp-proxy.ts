// A TCP proxy in front of a real service, so a test can cut the service off (and bring it back)
// without stopping it for everyone else, and count what goes through.
import { createServer, type Server, type Socket, connect } from 'node:net'
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
  close(): Promise<void>
}

export async function tcpProxy(t: Test | undefined, target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let refusing = false
  let accepted = 0
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy()
      return
    }
    accepted++
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
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
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut()
        server.close(() => resolve())
      }),
  }
  t?.teardown(() => proxy.close())
  return proxy
}
