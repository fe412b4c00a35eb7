// Raw HTTP for the hardening tests: requests fetch will not send (no content type on a PUT, huge
// headers, a body trickled byte by byte), and their answers as status, headers and parsed body.
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'

export interface RawAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an answer's JSON, asserted field by field
  body: any
  text: string
}

export function rawRequest(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const url = new URL(path, base)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => {
          let body: unknown = text
          try {
            body = JSON.parse(text)
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text })
        })
      },
    )
    req.on('error', reject)
    if (init.body !== undefined) req.write(init.body)
    req.end()
  })
}

/** A socket to the server, and everything it received until it closed. */
export function rawSocket(base: string): Promise<{ socket: Socket; received: Promise<{ text: string; closedAfterMs: number }> }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const started = Date.now()
    let text = ''
    const received = new Promise<{ text: string; closedAfterMs: number }>((done) => {
      socket.on('data', (c) => {
        text += c.toString('utf8')
      })
      socket.on('close', () => {
        done({ text, closedAfterMs: Date.now() - started })
      })
      socket.on('error', () => {})
    })
    socket.once('connect', () => { resolve({ socket, received }); })
    socket.once('error', reject)
  })
}

/** The JSON body of a raw HTTP response text. */
export function bodyOf(raw: string): { error: { message: string; data: { code: string; httpStatus: number } } } {
  const at = raw.indexOf('\r\n\r\n')
  return JSON.parse(raw.slice(at + 4)) as ReturnType<typeof bodyOf>
}
