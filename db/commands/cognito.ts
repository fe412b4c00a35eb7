// Cognito: the pool's users, and copying their `sub` into users.cognito_user_id (matched by handle).
import type { UserType } from '@aws-sdk/client-cognito-identity-provider'
import { handleKey } from '@cruddur/contracts'
import { DuplicateUserError } from '../../server/data/users-repository.js'
import { CliError, type Command, columns, parseCommandArgs, plural } from './common.js'
import type { Context } from './context.js'

interface PoolUser {
  username: string
  sub: string
  handle: string | undefined
  email: string
  status: string
}

/** Every user of the configured pool (ListUsers, following PaginationToken). */
async function poolUsers(ctx: Context): Promise<PoolUser[]> {
  if (ctx.config.cognito.dev) {
    throw new CliError('COGNITO_USER_POOL_ID is not set: the local development pool is only a signing key, with no users to list')
  }
  const client = await ctx.cognito()
  const { ListUsersCommand } = await import('@aws-sdk/client-cognito-identity-provider')
  const users: UserType[] = []
  let token: string | undefined
  do {
    const page = await client.send(
      new ListUsersCommand({ UserPoolId: ctx.config.cognito.userPoolId, Limit: 60, PaginationToken: token }),
    )
    users.push(...(page.Users ?? []))
    token = page.PaginationToken
  } while (token)
  return users.map((u) => {
    const attr = (name: string) => u.Attributes?.find((a) => a.Name === name)?.Value
    return {
      username: u.Username ?? '',
      sub: attr('sub') ?? u.Username ?? '',
      handle: attr('preferred_username'),
      email: attr('email') ?? '',
      status: u.UserStatus ?? '',
    }
  })
}

export const cognitoListUsers: Command<Context> = {
  name: 'cognito:list-users',
  args: '',
  summary: 'list the users of the Cognito pool (COGNITO_USER_POOL_ID)',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const users = await poolUsers(ctx)
    const rows = users.map((u) => [u.handle ?? '-', u.sub, u.email || '-', u.status || '-', u.username])
    for (const line of columns(rows, { header: ['handle', 'sub', 'email', 'status', 'username'] })) ctx.out(line)
    ctx.out(`${plural(users.length, 'user')} in ${ctx.config.cognito.userPoolId}`)
  },
}

export const cognitoSyncUserIds: Command<Context> = {
  name: 'cognito:sync-user-ids',
  args: '',
  summary: "write each Cognito user's sub into users.cognito_user_id, matched by handle = preferred_username",
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const poolList = await poolUsers(ctx)
    const repo = await ctx.users()

    // Two Cognito users claiming one handle: neither is trusted with it.
    const claims = new Map<string, number>()
    for (const u of poolList) if (u.handle) claims.set(handleKey(u.handle), (claims.get(handleKey(u.handle)) ?? 0) + 1)

    const replacedSubs: string[] = []
    let updated = 0
    let unchanged = 0
    let unmatched = 0
    let conflicts = 0
    const rows: string[][] = []
    for (const u of poolList) {
      const report = (outcome: string) => rows.push([u.handle ?? '-', u.sub, outcome])
      if (!u.handle) {
        unmatched++
        report('unmatched: no preferred_username')
        continue
      }
      if ((claims.get(handleKey(u.handle)) ?? 0) > 1) {
        conflicts++
        report('conflict: several Cognito users have this preferred_username')
        continue
      }
      const user = await repo.findByHandle(u.handle)
      if (!user) {
        unmatched++
        report('unmatched: no such handle in PostgreSQL')
        continue
      }
      if (user.cognitoUserId === u.sub) {
        unchanged++
        report('matched: already set')
        continue
      }
      try {
        await repo.setCognitoUserId(user.handle, u.sub)
        if (user.cognitoUserId) replacedSubs.push(user.cognitoUserId)
        updated++
        report(user.cognitoUserId ? `matched: updated (was ${user.cognitoUserId})` : 'matched: updated')
      } catch (err) {
        if (!(err instanceof DuplicateUserError)) throw err
        conflicts++
        report('conflict: this sub already belongs to another user')
      }
    }
    for (const line of columns(rows, { header: ['handle', 'sub', 'outcome'] })) ctx.out(line)
    const summary = `matched ${updated + unchanged} (${updated} updated, ${unchanged} already set), unmatched ${unmatched}`
    ctx.out(conflicts ? `${summary}, conflicts ${conflicts}` : summary)
    if (replacedSubs.length && (await ctx.forgetSubs(replacedSubs)) === 'unreachable') {
      ctx.out(`note: Redis was unreachable; sign-ins cached for the ${plural(replacedSubs.length, 'replaced sub')} expire within CACHE_TTL_SECONDS`)
    }
    if (conflicts) throw new CliError(`${plural(conflicts, 'Cognito user')} could not be synced (see the conflicts above)`)
  },
}
