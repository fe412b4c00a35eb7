// tRPC for Cruddur Messages, in the shape of create-t3-app's server/api/trpc.ts:
// 1. context, 2. initialization with the error formatter, 3. procedures.
import type { InputIssue, UserShort } from '@cruddur/contracts'
import { initTRPC, TRPCError } from '@trpc/server'
import type { ConversationsService } from '../services/conversations-service.js'
import { ServiceError } from '../services/conversations-service.js'
import type { Reads } from '../services/reads.js'
import type { Metrics } from '../metrics.js'

// 1. CONTEXT
export interface Context {
  /** The caller, resolved once per HTTP request (a batch verifies its token once). */
  authenticate(): Promise<UserShort>
  reads: Reads
  conversations: ConversationsService
  metrics: Metrics
}

// 2. INITIALIZATION
/** Why authentication failed: the message of an UNAUTHORIZED answer. */
export class AuthError extends Error {
  override name = 'AuthError'
}

interface ZodIssueLike {
  code?: string
  path: PropertyKey[]
  message: string
  keys?: string[]
  errors?: ZodIssueLike[][]
}

/** Zod's issues as `{ path, message }`, naming a field wherever zod knows one. */
function flatten(issues: ZodIssueLike[], prefix: PropertyKey[] = []): InputIssue[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path]
    if (i.code === 'unrecognized_keys' && i.keys?.length) {
      return i.keys.map((k) => ({ path: [...path, k].map(String).join('.'), message: 'unknown field' }))
    }
    if (i.code === 'invalid_union' && i.errors?.length) {
      // Report the alternative the input came closest to (fewest problems).
      const closest = [...i.errors].sort((a, b) => a.length - b.length)[0]!
      return flatten(closest, path)
    }
    return [{ path: path.map(String).join('.') || '(input)', message: i.message }]
  })
}

function issuesOf(cause: unknown): InputIssue[] | undefined {
  if (cause instanceof ServiceError && cause.field) return [{ path: cause.field, message: cause.message }]
  const zodIssues = (cause as { issues?: ZodIssueLike[] } | undefined)?.issues
  return Array.isArray(zodIssues) ? flatten(zodIssues) : undefined
}

const t = initTRPC.context<Context>().create({
  // No stack, SQL or AWS text ever reaches a client; BAD_REQUEST names the fields.
  errorFormatter({ shape, error }) {
    const issues = error.code === 'BAD_REQUEST' ? issuesOf(error.cause) : undefined
    const internal = shape.data.httpStatus >= 500
    const message = internal
      ? error.code === 'SERVICE_UNAVAILABLE'
        ? 'Service temporarily unavailable'
        : 'Internal server error'
      : error.cause instanceof SyntaxError
        ? 'Malformed JSON in request'
        : issues && error.cause && !(error.cause instanceof ServiceError)
        ? `Invalid input: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`
        : shape.message
    return {
      message,
      code: shape.code,
      data: { code: shape.data.code, httpStatus: shape.data.httpStatus, path: shape.data.path, ...(issues ? { issues } : {}) },
    }
  },
})

export const router = t.router
export const createCallerFactory = t.createCallerFactory

// 3. PROCEDURES
/** Maps domain errors to tRPC codes; anything unexpected becomes a generic 500 (logged by onError). */
const errors = t.middleware(async ({ next }) => {
  const result = await next()
  if (!result.ok) {
    const cause = result.error.cause
    if (cause instanceof ServiceError) throw new TRPCError({ code: cause.code, message: cause.message, cause })
    if (cause instanceof AuthError) throw new TRPCError({ code: 'UNAUTHORIZED', message: cause.message, cause })
  }
  return result
})

/** Errors this middleware counted; the adapter's onError counts the others (bad JSON, unknown paths). */
export const countedErrors = new WeakSet<object>()

/** Per-procedure request counts and latency; each call of a batch counts on its own. */
const observe = t.middleware(async ({ ctx, path, next }) => {
  const started = performance.now()
  const result = await next()
  ctx.metrics.observeCall(path, result.ok ? 'OK' : result.error.code, (performance.now() - started) / 1000)
  if (!result.ok) countedErrors.add(result.error)
  return result
})

export const publicProcedure = t.procedure.use(observe).use(errors)

/** Every procedure of the API: the caller is known, or the answer is UNAUTHORIZED. */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await ctx.authenticate()
  return next({ ctx: { user } })
})
