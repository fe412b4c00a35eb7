// Builds each request's context: the bearer token is verified and mapped to a user only when a
// procedure asks, once per HTTP request. The Context type is what this factory returns.
import type { UserShort } from '@cruddur/contracts'
import type { AccessTokenVerifier } from '../auth/verifier.js'
import { unauthorized } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { ConversationsService } from '../services/conversations-service.js'
import type { Reads } from '../services/reads.js'

export interface ContextDeps {
  verifier: AccessTokenVerifier
  reads: Reads
  conversations: ConversationsService
  metrics: Metrics
}

/** The token of an `Authorization: Bearer <token>` header; refuses anything else. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw unauthorized('missing bearer token')
  // The common spelling without a regular expression (this runs on every request).
  if (header.startsWith('Bearer ') && header.length > 7 && !/\s/.test(header.charAt(7)) && header.indexOf(' ', 7) === -1) {
    return header.slice(7)
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match) throw unauthorized('authorization header must be "Bearer <token>"')
  return match[1]!
}

export async function authenticate(deps: Pick<ContextDeps, 'verifier' | 'reads'>, header: string | undefined): Promise<UserShort> {
  const token = bearerToken(header)
  let sub: string
  try {
    ;({ sub } = await deps.verifier.verify(token))
  } catch {
    throw unauthorized('invalid or expired access token')
  }
  const user = await deps.reads.userBySub(sub)
  if (!user) throw unauthorized('no user for this token')
  return user
}

export function contextFactory(deps: ContextDeps) {
  return ({ req }: { req: { headers: Record<string, string | string[] | undefined> } }) => {
    let caller: Promise<UserShort> | undefined
    const header = req.headers.authorization
    return {
      /** The caller, resolved once per HTTP request (a batch verifies its token once). */
      authenticate: () => (caller ??= authenticate(deps, typeof header === 'string' ? header : undefined)),
      reads: deps.reads,
      conversations: deps.conversations,
      metrics: deps.metrics,
    }
  }
}

export type Context = ReturnType<ReturnType<typeof contextFactory>>
