// Builds each request's context: the bearer token is verified and mapped to a user only when a
// procedure asks, once per HTTP request. The Context type is what this factory returns.
import type { UserShort } from '@cruddur/contracts'
import type { AccessTokenVerifier } from '../auth/verifier.js'
import { unauthorized } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { ConversationsService } from '../services/conversations-service.js'
import type { Realtime } from '../realtime/hub.js'
import type { Reads } from '../services/reads.js'

export interface ContextDeps {
  verifier: AccessTokenVerifier
  reads: Reads
  conversations: ConversationsService
  realtime: Realtime
  metrics: Metrics
}

/** The caller and when their token expires (seconds since the epoch): a subscription ends then. */
export interface Session {
  user: UserShort
  expiresAt: number
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

export async function session(deps: Pick<ContextDeps, 'verifier' | 'reads'>, header: string | undefined): Promise<Session> {
  const token = bearerToken(header)
  let verified: { sub: string; exp: number }
  try {
    verified = await deps.verifier.verify(token)
  } catch {
    throw unauthorized('invalid or expired access token')
  }
  const user = await deps.reads.userBySub(verified.sub)
  if (!user) throw unauthorized('no user for this token')
  return { user, expiresAt: verified.exp }
}

export const authenticate = async (deps: Pick<ContextDeps, 'verifier' | 'reads'>, header: string | undefined): Promise<UserShort> =>
  (await session(deps, header)).user

interface ContextOptions {
  req: { headers: Record<string, string | string[] | undefined>; raw?: { destroy(): void } }
  /** tRPC's: a subscription's connection parameters (browsers' EventSource cannot send headers). */
  info?: { connectionParams: Record<string, string | undefined> | null } | undefined
}

export function contextFactory(deps: ContextDeps) {
  return ({ req, info }: ContextOptions) => {
    let caller: Promise<Session> | undefined
    const header = req.headers.authorization
    const token = info?.connectionParams?.token
    const credential = typeof header === 'string' ? header : typeof token === 'string' ? `Bearer ${token}` : undefined
    const resolve = () => (caller ??= session(deps, credential))
    return {
      /** The caller, resolved once per HTTP request (a batch verifies its token once). */
      authenticate: async () => (await resolve()).user,
      session: resolve,
      /** Drops the HTTP connection (a stream whose reader stopped reading). */
      dropConnection: () => req.raw?.destroy(),
      reads: deps.reads,
      conversations: deps.conversations,
      realtime: deps.realtime,
      metrics: deps.metrics,
    }
  }
}

export type Context = ReturnType<ReturnType<typeof contextFactory>>
