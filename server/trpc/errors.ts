// How any failure under /trpc becomes an answer, and the one place that counts it: refusals of the
// domain, failures inside procedures, and what Fastify refuses before tRPC runs (body limits, media
// types, unknown routes). Every answer has tRPC's error shape and a generic message for 5xx: no stack,
// SQL, AWS text or echo of the request ever reaches a client.
import type { InputIssue } from '@cruddur/contracts'
import { type TRPCDefaultErrorShape, TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc'
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { ServiceError } from '../errors.js'
import { isOutage } from '../lib/outage.js'
import type { Metrics } from '../metrics.js'

// 1. Refusals as tRPC errors (run by the procedures' middleware).

/** The tRPC error a procedure's failure answers with; causes that are not refusals stay 500. */
export function asTRPCError(error: TRPCError): TRPCError {
  const cause = refusalOf(error.cause)
  if (cause instanceof ServiceError) return new TRPCError({ code: cause.code, message: cause.message, cause })
  return error
}

/** Seconds a client is told to wait when a backend cannot be reached. */
const OUTAGE_RETRY_AFTER_SECONDS = 5

/** A refusal, or an outage of a backend as the refusal it is (503); anything else as it is. */
function refusalOf(err: unknown): unknown {
  if (err instanceof ServiceError || !isOutage(err)) return err
  return new ServiceError('SERVICE_UNAVAILABLE', 'a backend is unreachable', { retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS })
}

/** A refusal met outside a procedure's middleware (inside a subscription's stream) as its tRPC error. */
export function errorOfRefusal(err: unknown): unknown {
  const refusal = refusalOf(err)
  return refusal instanceof ServiceError ? new TRPCError({ code: refusal.code, message: refusal.message, cause: refusal }) : err
}

/** Seconds a client should wait before retrying this failure (429 and 503), if any. */
export const retryAfterOf = (error: TRPCError): number | undefined =>
  error.cause instanceof ServiceError ? error.cause.detail.retryAfterSeconds : undefined

/** tRPC's responseMeta: the longest Retry-After of the answer's errors, as the header. */
export function retryAfterHeader({ errors }: { errors: TRPCError[] }): { headers?: Record<string, string> } {
  const seconds = Math.max(0, ...errors.map((e) => retryAfterOf(e) ?? 0))
  return seconds > 0 ? { headers: { 'retry-after': String(seconds) } } : {}
}

// 2. The error shape (tRPC's errorFormatter).

interface ZodIssueLike {
  code?: string
  path: PropertyKey[]
  message: string
  keys?: string[]
  errors?: ZodIssueLike[][]
}

/**
 * A path segment as the answer may show it: a field name of ours or an index. Keys the client made
 * up (an unknown field) are its own text, echoed back only when they look like a field name.
 */
const segment = (k: PropertyKey): string => {
  const text = String(k)
  return /^[A-Za-z0-9_]{1,64}$/.test(text) ? text : '?'
}

/** Issues reported at most (an input with thousands of unknown keys gets a short answer). */
const MAX_ISSUES = 10
const MAX_ISSUE_MESSAGE = 200

/** Zod's issues as `{ path, message }`, naming a field wherever zod knows one. */
function flatten(issues: ZodIssueLike[], prefix: PropertyKey[] = []): InputIssue[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path]
    if (i.code === 'unrecognized_keys' && i.keys?.length) {
      return i.keys.map((k) => ({ path: [...path, k].map(segment).join('.'), message: 'unknown field' }))
    }
    if (i.code === 'invalid_union' && i.errors?.length) {
      // Report the alternative the input came closest to (fewest problems).
      const closest = [...i.errors].sort((a, b) => a.length - b.length)[0]!
      return flatten(closest, path)
    }
    return [{ path: path.map(segment).join('.') || '(input)', message: i.message.slice(0, MAX_ISSUE_MESSAGE) }]
  })
}

function issuesOf(cause: unknown): InputIssue[] | undefined {
  if (cause instanceof ServiceError && cause.detail.field) return [{ path: cause.detail.field, message: cause.message }]
  const zodIssues = (cause as { issues?: ZodIssueLike[] } | undefined)?.issues
  return Array.isArray(zodIssues) ? flatten(zodIssues).slice(0, MAX_ISSUES) : undefined
}

/** tRPC's errorFormatter: BAD_REQUEST names the fields; 5xx say nothing of their cause. */
export function formatError({ shape, error }: { shape: TRPCDefaultErrorShape; error: TRPCError }) {
  const issues = error.code === 'BAD_REQUEST' ? issuesOf(error.cause) : undefined
  const message =
    shape.data.httpStatus >= 500
      ? genericMessage(error.code)
      : error.cause instanceof SyntaxError
        ? 'Malformed JSON in request'
        : issues && error.cause && !(error.cause instanceof ServiceError)
          ? `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`
          : error.code === 'NOT_FOUND' && !(error.cause instanceof ServiceError)
            ? 'No such procedure' // tRPC's own words echo the path asked for
            : shape.message
  return {
    message,
    code: shape.code,
    // The path is echoed only when it names a procedure of ours (an unknown one is the caller's text).
    data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: knownPath(shape.data.path), ...(issues ? { issues } : {}) },
  }
}

const genericMessage = (code: TRPC_ERROR_CODE_KEY) =>
  code === 'SERVICE_UNAVAILABLE' ? 'Service temporarily unavailable' : 'Internal server error'

// 3. Failures outside tRPC, in tRPC's shape.

const BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'BAD_REQUEST',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'BAD_REQUEST',
  503: 'SERVICE_UNAVAILABLE',
}

export function trpcErrorBody(code: TRPC_ERROR_CODE_KEY, message: string, path?: string, status?: number) {
  // tRPC has no code of its own for 414 and 431: BAD_REQUEST, with the status the answer really has.
  const httpStatus = status ?? getHTTPStatusCodeFromError(new TRPCError({ code }))
  const text = httpStatus >= 500 ? genericMessage(code) : message
  return { httpStatus, body: { error: { message: text, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus, ...(path ? { path } : {}) } } } }
}

/** A Fastify-level error (status and message) as a tRPC error. */
export function fromHttpError(statusCode: number | undefined, message: string, path?: string) {
  const code = BY_STATUS[statusCode ?? 500] ?? (statusCode && statusCode < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR')
  return trpcErrorBody(code, message, path, statusCode === 414 || statusCode === 431 ? statusCode : undefined)
}

// 4. Counting: every failed call, whichever layer refused it, is counted here and only here.

export function errorCounter(metrics: Metrics, procedures: ReadonlySet<string>) {
  return (path: string | undefined, code: TRPC_ERROR_CODE_KEY): void => {
    // Unknown paths share one label, so clients cannot grow the metric without bound.
    const procedure = path !== undefined && procedures.has(path) ? path : '(unknown)'
    metrics.requests.inc({ procedure, code })
  }
}

export type CountError = ReturnType<typeof errorCounter>

/** Answers every Fastify-level failure of a scope (the /trpc routes) in tRPC's shape, counted. */
export function answerFastifyErrors(scope: FastifyInstance, count: CountError): void {
  const send = (reply: FastifyReply, statusCode: number | undefined, message: string, path?: string) => {
    const { httpStatus, body } = fromHttpError(statusCode, message, path)
    count(path, body.error.data.code)
    return reply.code(httpStatus).type('application/json').send(body)
  }
  scope.setErrorHandler<FastifyError | ServiceError>((err, req, reply) => {
    const path = (req.params as { path?: string } | undefined)?.path
    if (err instanceof ServiceError) {
      // A refusal made before tRPC runs (a rate limit, the batch cap): its code, its Retry-After.
      const { body, httpStatus } = trpcErrorBody(err.code, err.message, knownPath(path))
      if (err.detail.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.detail.retryAfterSeconds))
      count(path, err.code)
      return reply.code(httpStatus).type('application/json').send(body)
    }
    const status = err.statusCode ?? 500
    if (status >= 500 && status !== 503) req.log.error({ err }, 'request failed')
    // Fastify's own messages may quote the request (a path, a header): 4xx answers use generic words.
    return send(reply, status, FASTIFY_MESSAGES[status] ?? (status < 500 ? 'Bad request' : err.message), knownPath(path))
  })
  scope.setNotFoundHandler((_req, reply) => send(reply, 404, 'No such procedure'))
}

/** What Fastify-level refusals say, without echoing the request. */
const FASTIFY_MESSAGES: Record<number, string> = {
  400: 'Bad request',
  404: 'No such procedure',
  405: 'Method not allowed: use GET for queries and subscriptions, POST for mutations',
  408: 'Request timed out',
  413: 'Request body too large',
  414: 'Request path too long',
  415: 'Unsupported media type: send application/json',
  429: 'Too many requests, slow down',
  431: 'Request headers too large',
}

let procedurePaths: ReadonlySet<string> = new Set()
/** Paths echoed in `data.path` are procedures of ours only (set by the routes, once). */
export function knowProcedures(paths: ReadonlySet<string>): void {
  procedurePaths = paths
}
const knownPath = (path: string | undefined): string | undefined => (path !== undefined && procedurePaths.has(path) ? path : undefined)

/** An error answer as raw HTTP bytes, for the connection level (no request object exists yet). */
export function rawErrorResponse(statusCode: number, extraHeaders: Record<string, string> = {}): string {
  const { httpStatus, body } = fromHttpError(statusCode, FASTIFY_MESSAGES[statusCode] ?? 'Bad request')
  const text = JSON.stringify(body)
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'close', ...extraHeaders }
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`)
  return `HTTP/1.1 ${httpStatus} ${STATUS_TEXT[httpStatus] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${text}`
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' }
