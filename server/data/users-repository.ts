// Users live in PostgreSQL (table `users`, the original's columns).
import { normalizeHandle, type UserShort } from '@cruddur/contracts'
import type { Sql } from './postgres.js'

export interface User extends UserShort {
  email: string | null
  cognitoUserId: string | null
  createdAt: Date
}

export interface NewUser {
  handle: string
  displayName: string
  email: string
  cognitoUserId?: string | null
}

export interface UsersRepository {
  findByHandle(handle: string): Promise<User | null>
  findByCognitoUserId(sub: string): Promise<User | null>
  list(): Promise<User[]>
  /** Inserts; throws DuplicateUserError naming the column when handle or cognito_user_id is taken. */
  add(user: NewUser): Promise<User>
  /** Sets a user's Cognito `sub`, matched by handle; the user, or null when no such handle. */
  setCognitoUserId(handle: string, sub: string): Promise<User | null>
}

export class DuplicateUserError extends Error {
  override name = 'DuplicateUserError'
  constructor(readonly field: 'handle' | 'cognito_user_id') {
    super(`a user with this ${field} already exists`)
  }
}

interface Row {
  uuid: string
  handle: string
  display_name: string
  email: string | null
  cognito_user_id: string | null
  created_at: Date
}

const toUser = (r: Row): User => ({
  uuid: r.uuid,
  handle: r.handle,
  displayName: r.display_name,
  email: r.email,
  cognitoUserId: r.cognito_user_id,
  createdAt: r.created_at,
})

function duplicate(err: unknown): never {
  const e = err as { code?: string; constraint_name?: string }
  if (e.code === '23505') {
    throw new DuplicateUserError(e.constraint_name?.includes('cognito') ? 'cognito_user_id' : 'handle')
  }
  throw err
}

export function createUsersRepository(sql: Sql): UsersRepository {
  const columns = sql`uuid, handle, display_name, email, cognito_user_id, created_at`
  return {
    async findByHandle(handle) {
      const [row] = await sql<Row[]>`select ${columns} from users where lower(handle) = lower(${normalizeHandle(handle)})`
      return row ? toUser(row) : null
    },
    async findByCognitoUserId(sub) {
      const [row] = await sql<Row[]>`select ${columns} from users where cognito_user_id = ${sub}`
      return row ? toUser(row) : null
    },
    async list() {
      return (await sql<Row[]>`select ${columns} from users order by created_at, handle`).map(toUser)
    },
    async add(user) {
      const rows = await sql<Row[]>`
        insert into users (handle, display_name, email, cognito_user_id)
        values (${normalizeHandle(user.handle)}, ${user.displayName}, ${user.email}, ${user.cognitoUserId ?? null})
        returning ${columns}`.catch(duplicate)
      return toUser(rows[0]!)
    },
    async setCognitoUserId(handle, sub) {
      const [row] = await sql<Row[]>`
        update users set cognito_user_id = ${sub}
        where lower(handle) = lower(${normalizeHandle(handle)})
        returning ${columns}`.catch(duplicate)
      return row ? toUser(row) : null
    },
  }
}
