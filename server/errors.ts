// Refusals of the domain: what a caller asked for that the service will not do, with the API's
// error code. Independent of tRPC: server/trpc/errors.ts turns these (and anything else) into answers.

export type RefusalCode = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'NOT_FOUND' | 'CONFLICT' | 'TOO_MANY_REQUESTS' | 'SERVICE_UNAVAILABLE'

export class ServiceError extends Error {
  override name = 'ServiceError'
  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly detail: {
      /** The input field at fault, for BAD_REQUEST and CONFLICT. */
      field?: string
      /** Seconds after which a retry may succeed (429, 503): sent as Retry-After. */
      retryAfterSeconds?: number
    } = {},
  ) {
    super(message)
  }
}

/** Why a caller is not authenticated (the message of an UNAUTHORIZED answer). */
export const unauthorized = (why: string): ServiceError => new ServiceError('UNAUTHORIZED', why)
