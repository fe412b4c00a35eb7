// The read requests of the GET scenarios, as clients send them: one list per scenario.
import type { BenchUser } from './fixtures.js'

/** messageGroups.list exactly as @trpc/client's httpBatchLink sends it (input omitted). */
export const GROUPS_PATH = '/trpc/messageGroups.list?batch=1&input=' + encodeURIComponent(JSON.stringify({ 0: {} }))
export const messagesPath = (groupUuid: string, limit?: number) =>
  '/trpc/messages.list?input=' + encodeURIComponent(JSON.stringify(limit ? { messageGroupUuid: groupUuid, limit } : { messageGroupUuid: groupUuid }))

export interface Req {
  method: 'GET'
  path: string
  headers: Record<string, string>
}

/** One request per user: their conversation list. */
export const groupsRequests = (users: BenchUser[]): Req[] =>
  users.map((u) => ({ method: 'GET', path: GROUPS_PATH, headers: { authorization: u.authorization } }))

/** One request per user: their conversation list as a plain (unbatched) call. */
export const groupsPlainRequests = (users: BenchUser[]): Req[] =>
  users.map((u) => ({ method: 'GET', path: '/trpc/messageGroups.list', headers: { authorization: u.authorization } }))

/** One request per (participant, conversation): the conversation's first page. */
export const messagesRequests = (users: BenchUser[]): Req[] =>
  users.flatMap((u) => u.groups.map((g) => ({ method: 'GET' as const, path: messagesPath(g), headers: { authorization: u.authorization } })))
