// What one HTTP request under /trpc asks for, read from its URL alone (before any body or token is
// looked at): its procedure calls and what kind each is. The batch cap and the rate limits decide on it.
import { appRouter } from '../trpc/router.js'

export type CallKind = 'read' | 'write' | 'subscription'

const KINDS: ReadonlyMap<string, CallKind> = new Map(
  // At run time, a flat record of every procedure by its dotted path.
  Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: 'query' | 'mutation' | 'subscription' } }>).map(([path, procedure]) => {
    const type = procedure._def.type
    return [path, type === 'mutation' ? 'write' : type === 'subscription' ? 'subscription' : 'read']
  }),
)

/** The calls of a request: a batch (`?batch=1`, as tRPC reads it) names them comma-separated. */
export function callsOf(path: string, query: unknown): string[] {
  const batch = (query as { batch?: unknown } | undefined)?.batch === '1'
  return batch ? path.split(',') : [path]
}

/** The kind of a call; an unknown procedure counts as a read (it costs a 404). */
export const kindOf = (path: string): CallKind => KINDS.get(path) ?? 'read'
