// Failures that mean "a backend cannot be reached right now" (answered 503, retry later), told apart
// from every other failure (a bug or a misconfiguration: 500). Causes are followed down their chain.

/** A call that ran past its deadline (server/lib/deadline.ts). */
export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded'
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${String(ms)} ms`)
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

const UNAVAILABLE_NAMES = new Set([
  'DeadlineExceeded',
  'TimeoutError',
  'AbortError',
  // DynamoDB's throttling and its own outages, once the SDK's retries (with backoff) are spent.
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
])

export function isOutage(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false
  const e = err as { name?: unknown; code?: unknown; cause?: unknown; errors?: unknown; $metadata?: { httpStatusCode?: unknown } }
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true
  const status = e.$metadata?.httpStatusCode
  if (typeof status === 'number' && (status === 503 || status === 502 || status === 504)) return true
  if (Array.isArray(e.errors) && e.errors.some((inner) => isOutage(inner, depth + 1))) return true
  return isOutage(e.cause, depth + 1)
}
