// Helpers of the wire-format tests (not a test file): URLs of tRPC's HTTP RPC format, the exact
// response shapes of API.md, and the "no internals" check every error body goes through.
import type { inferRouterOutputs } from '@trpc/server'
import type { Test } from 'tap'
import type { AppRouter } from '../../../server/trpc/router.js'
import type { TestApp } from '../../helpers/app.js'

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** A query URL: `/trpc/<path>?input=<json>` (no `input` when undefined). */
export function q(path: string, input?: unknown): string {
  return input === undefined ? `/trpc/${path}` : `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`
}

/** A batched query URL: `/trpc/a,b?batch=1&input={"0":..,"1":..}`. */
export function qBatch(calls: [path: string, input?: unknown][]): string {
  const input: Record<string, unknown> = {}
  calls.forEach(([, i], n) => {
    if (i !== undefined) input[n] = i
  })
  return `/trpc/${calls.map(([p]) => p).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(input))}`
}

export const jsonPost = (body: unknown, token?: string): RequestInit & { token?: string } => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
  ...(token ? { token } : {}),
})

export interface WireError {
  message: string
  code: number
  data: { code: string; httpStatus: number; path?: string; issues?: { path: string; message: string }[] }
}

/** What each procedure answers, from the router itself: `expectResult(...) as Output['users']['me']`. */
export type Output = inferRouterOutputs<AppRouter>

/** Asserts `{"result":{"data":...}}` exactly; returns data (the caller names its type, see Output). */
export function expectResult(t: Test, res: { status: number; body: unknown }, label = 'result'): unknown {
  // Only read here: the assertions check the shape the cast assumes.
  const body = (res.body ?? {}) as { result?: { data?: unknown } }
  t.equal(res.status, 200, `${label}: 200`)
  t.same(Object.keys(body), ['result'], `${label}: only "result"`)
  t.same(Object.keys(body.result ?? {}), ['data'], `${label}: only "result.data"`)
  return body.result?.data
}

const JSON_RPC_CODES: Record<string, number> = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  NOT_FOUND: -32004,
  METHOD_NOT_SUPPORTED: -32005,
  PAYLOAD_TOO_LARGE: -32013,
  UNSUPPORTED_MEDIA_TYPE: -32015,
  INTERNAL_SERVER_ERROR: -32603,
  SERVICE_UNAVAILABLE: -32603,
}

/** One entry of a batch's answer: `{"result":{"data":...}}` or `{"error":{...}}`. */
export interface BatchEntry {
  result?: { data: unknown }
  error?: WireError
}

/** A batch's answer, typed for reading: the tests assert the shape entry by entry. */
export const batchOf = (res: { body: unknown }): BatchEntry[] => res.body as BatchEntry[]

/** The `result.data` of a non-batched answer, unchecked (the caller names its type, see Output). */
export const dataOf = (res: { body: unknown }): unknown => (res.body as { result?: { data?: unknown } } | null | undefined)?.result?.data

/** The `error` of a non-batched answer, typed for reading (expectError checks its shape). */
export const errorOf = (res: { body: unknown }): WireError | undefined => (res.body as { error?: WireError } | null | undefined)?.error

/** Asserts one tRPC error object: `{message, code:<number>, data:{code, httpStatus, path?, issues?}}`. */
export function expectErrorShape(t: Test, error: unknown, code: string, httpStatus: number, label: string): WireError {
  // Only read here: the assertions check the shape the cast assumes.
  const e = (error ?? {}) as Partial<Omit<WireError, 'data'>> & { data?: Partial<WireError['data']> }
  t.same(Object.keys(e).sort(), ['code', 'data', 'message'], `${label}: error has message, code, data`)
  t.type(e.message, 'string', `${label}: message is a string`)
  t.ok((e.message?.length ?? 0) > 0, `${label}: message is not empty`)
  t.type(e.code, 'number', `${label}: code is a number`)
  if (JSON_RPC_CODES[code] !== undefined && code !== 'SERVICE_UNAVAILABLE') t.equal(e.code, JSON_RPC_CODES[code], `${label}: JSON-RPC code`)
  t.equal(e.data?.code, code, `${label}: data.code`)
  t.equal(e.data?.httpStatus, httpStatus, `${label}: data.httpStatus`)
  const extra = Object.keys(e.data ?? {}).filter((k) => !['code', 'httpStatus', 'path', 'issues'].includes(k))
  t.same(extra, [], `${label}: data holds only code, httpStatus, path, issues`)
  return error as WireError
}

/** Asserts a non-batched error response: status, `{"error":{...}}` only, and the tRPC code. */
export function expectError(t: Test, res: { status: number; body: unknown }, code: string, httpStatus: number, label = code): WireError {
  const body = (res.body ?? {}) as { error?: unknown }
  t.equal(res.status, httpStatus, `${label}: HTTP ${httpStatus}`)
  t.same(Object.keys(body), ['error'], `${label}: only "error"`)
  return expectErrorShape(t, body.error, code, httpStatus, label)
}

/** What must never reach a client: stacks, frames, file paths, SQL, PostgreSQL or AWS error text. */
export const LEAKS: [string, RegExp][] = [
  ['stack property', /"stack"/i],
  ['stack frame', /\bat [\w.<>]+ \(|\n\s+at |at (file:|node:|\/)/],
  ['file path', /node_modules|\/work\/|\.ts:\d+|\.js:\d+/],
  ['SQL text', /\b(select\s+.+\s+from|insert\s+into|update\s+\w+\s+set|delete\s+from|relation\s+"|syntax error at|violates)\b/i],
  ['PostgreSQL', /postgres|PostgresError|pg_|SQLSTATE/i],
  ['DynamoDB / AWS', /dynamo|aws|Exception|ResourceNotFound|ConditionalCheck|ValidationError|\$metadata|requestId/i],
  ['socket error', /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i],
  ['error class names', /\b(TypeError|ReferenceError|ZodError|ServiceError|AuthError)\b/],
]

/** Collects error bodies so a test can assert, once, that none of them leaks internals. */
export class ErrorBodies {
  readonly bodies: { label: string; text: string }[] = []
  add(label: string, body: unknown): void {
    this.bodies.push({ label, text: typeof body === 'string' ? body : JSON.stringify(body) })
  }
  assertClean(t: Test): void {
    t.ok(this.bodies.length > 0, 'some error bodies were collected')
    for (const { label, text } of this.bodies) {
      const found = LEAKS.filter(([, re]) => re.test(text)).map(([name]) => name)
      t.same(found, [], `${label}: no internals in ${text.slice(0, 300)}`)
    }
  }
}

/** The app's `call`, collecting every non-2xx body. */
export function collecting(app: TestApp, bodies: ErrorBodies): TestApp['call'] {
  return async (path, init) => {
    const res = await app.call(path, init)
    if (res.status >= 300) bodies.add(`${init?.method ?? 'GET'} ${path.slice(0, 80)} -> ${res.status}`, res.body)
    return res
  }
}

/** A handle for a fresh user: added to PostgreSQL with a Cognito sub, usable with app.token(). */
export async function addUser(app: Pick<TestApp, 'backends'>, handle: string, displayName = handle): Promise<{ uuid: string; handle: string }> {
  const u = await app.backends.users.add({
    handle,
    displayName,
    email: `${handle}@example.test`,
    cognitoUserId: `sub-${handle}-${Math.random().toString(36).slice(2)}`,
  })
  return { uuid: u.uuid, handle: u.handle }
}
