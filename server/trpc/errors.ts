// tRPC's error shape for failures that happen before tRPC sees the request (body limits, media types,
// unknown routes), so clients always get one format.
import { TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc'

const BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
}

export function trpcErrorBody(code: TRPC_ERROR_CODE_KEY, message: string, path?: string) {
  const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code }))
  return { httpStatus, body: { error: { message, code: TRPC_ERROR_CODES_BY_KEY[code], data: { code, httpStatus, ...(path ? { path } : {}) } } } }
}

/** A Fastify-level error (status and message) as a tRPC error; 5xx never carry their text. */
export function fromHttpError(statusCode: number | undefined, message: string, path?: string) {
  const code = BY_STATUS[statusCode ?? 500] ?? (statusCode && statusCode < 500 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR')
  return trpcErrorBody(code, code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : message, path)
}
