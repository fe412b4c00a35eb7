// The bench's HTTP client: raw keep-alive HTTP/1.1 connections, one request at a time on each (no
// pipelining), a pool of them per server, requests encoded once per Op.
import { connect, type Socket } from 'node:net'

export interface Op {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
  /** Which server (base URL), when a round spreads over several. */
  url: string
  /** Checks the answer; returns false for a wrong (stale) one. Runs after the response. */
  check?: (status: number, body: string) => boolean
}

export interface Response {
  status: number
  body: string
}

interface Pending {
  buffer: Buffer
  resolve: (res: Response) => void
  reject: (err: Error) => void
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, with a minimal response parser
 * (Content-Length or chunked bodies). node:http's client costs several times the CPU per request,
 * and the client shares the machine's cores with the servers it measures.
 */
class Connection {
  private readonly socket: Socket
  private data: Buffer = Buffer.alloc(0)
  private current: Pending | undefined
  dead = false

  constructor(
    host: string,
    port: number,
    private readonly timeoutMs: number,
    private readonly onIdle: (conn: Connection) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true })
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('timeout', () => this.fail(new Error('timeout')))
    this.socket.on('error', (err) => this.fail(err))
    this.socket.on('close', () => this.fail(new Error('connection closed')))
  }

  send(p: Pending): void {
    this.current = p
    this.data = Buffer.alloc(0)
    this.socket.setTimeout(this.timeoutMs)
    this.socket.write(p.buffer)
  }

  private fail(err: Error): void {
    const wasAlive = !this.dead
    this.dead = true
    this.socket.destroy()
    const p = this.current
    this.current = undefined
    p?.reject(err)
    if (wasAlive) this.onIdle(this) // the pool forgets it
  }

  private onData(chunk: Buffer): void {
    this.data = this.data.length ? Buffer.concat([this.data, chunk]) : chunk
    const headEnd = this.data.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const head = this.data.toString('latin1', 0, headEnd)
    const status = Number(head.slice(9, 12))
    const bodyStart = headEnd + 4
    let body: Buffer | undefined
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    if (length) {
      const end = bodyStart + Number(length[1])
      if (this.data.length < end) return
      body = this.data.subarray(bodyStart, end)
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Buffer[] = []
      let at = bodyStart
      for (;;) {
        const lineEnd = this.data.indexOf('\r\n', at)
        if (lineEnd < 0) return
        const size = parseInt(this.data.toString('latin1', at, lineEnd), 16)
        if (size === 0) {
          if (this.data.length < lineEnd + 4) return
          break
        }
        if (this.data.length < lineEnd + 2 + size + 2) return
        parts.push(this.data.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      body = Buffer.concat(parts)
    } else {
      body = Buffer.alloc(0)
    }
    const p = this.current
    this.current = undefined
    this.data = Buffer.alloc(0)
    this.socket.setTimeout(0)
    p?.resolve({ status, body: body.toString() })
    if (/\r\nconnection:\s*close/i.test(head)) this.fail(new Error('closed by the server'))
    else this.onIdle(this)
  }

  close(): void {
    this.dead = true
    this.socket.destroy()
  }
}

/** Up to `connections` keep-alive connections per server; requests beyond them wait their turn. */
class Pool {
  private readonly idle: Connection[] = []
  private readonly all = new Set<Connection>()
  private readonly queue: Pending[] = []
  private readonly hostHeader: string

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {
    this.hostHeader = `${host}:${port}`
  }

  /** Requests as bytes, by Op: rounds send the same few ops over and over, and the client's own garbage collections would count in the latencies. */
  private readonly encoded = new WeakMap<Op, Buffer>()

  private encode(op: Op): Buffer {
    let head = `${op.method} ${op.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`
    for (const [k, v] of Object.entries(op.headers)) head += `${k}: ${v}\r\n`
    const body = op.body === undefined ? undefined : Buffer.from(op.body)
    if (body) head += `content-type: application/json\r\ncontent-length: ${body.length}\r\n`
    return body ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), body]) : Buffer.from(head + '\r\n', 'latin1')
  }

  send(op: Op): Promise<Response> {
    let buffer = this.encoded.get(op)
    if (!buffer) this.encoded.set(op, (buffer = this.encode(op)))
    return new Promise((resolve, reject) => {
      const p: Pending = { buffer, resolve, reject }
      let conn = this.idle.pop()
      while (conn?.dead) conn = this.idle.pop()
      if (!conn && this.all.size < this.max) conn = this.open()
      if (conn) conn.send(p)
      else this.queue.push(p)
    })
  }

  private open(): Connection {
    const conn = new Connection(this.host, this.port, this.timeoutMs, (c) => this.release(c))
    this.all.add(conn)
    return conn
  }

  private release(conn: Connection): void {
    if (conn.dead) {
      this.all.delete(conn)
      const next = this.queue.shift()
      if (next) this.open().send(next)
      return
    }
    const next = this.queue.shift()
    if (next) conn.send(next)
    else this.idle.push(conn)
  }

  close(): void {
    for (const c of this.all) c.close()
    for (const p of this.queue.splice(0)) p.reject(new Error('closed'))
  }
}

/** The bench's HTTP client: a pool per server, at most `connections` sockets each, no pipelining. */
export class HttpDriver {
  private readonly pools = new Map<string, Pool>()
  constructor(
    private readonly connections: number,
    private readonly timeoutMs = 10_000,
  ) {}

  send(op: Op): Promise<Response> {
    let pool = this.pools.get(op.url)
    if (!pool) {
      const url = new URL(op.url)
      pool = new Pool(url.hostname, Number(url.port || 80), this.connections, this.timeoutMs)
      this.pools.set(op.url, pool)
    }
    return pool.send(op)
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close()
    this.pools.clear()
  }
}
