// Users in PostgreSQL: adding one by hand (for example a Cognito user who signed up elsewhere).
import { Handle } from '@cruddur/contracts'
import { z } from 'zod'
import { DuplicateUserError } from '../../server/data/users-repository.js'
import { CliError, type Command, parseCommandArgs, UsageError, usageOf } from './common.js'
import type { Context } from './context.js'

const Email = z.email()

export const usersAdd: Command<Context> = {
  name: 'users:add',
  args: '--handle H --display-name N --email E --cognito-user-id S',
  summary: 'add a user to PostgreSQL',
  async run(ctx, argv) {
    const { values } = parseCommandArgs(this, argv, {
      options: {
        handle: { type: 'string' },
        'display-name': { type: 'string' },
        email: { type: 'string' },
        'cognito-user-id': { type: 'string' },
      },
    })
    const usage = usageOf(this)
    for (const flag of ['handle', 'display-name', 'email', 'cognito-user-id'] as const) {
      if (values[flag] === undefined || values[flag].trim() === '') throw new UsageError(`missing --${flag}`, usage)
    }
    const handle = Handle.safeParse(values.handle)
    if (!handle.success) throw new UsageError(`--handle '${values.handle}' ${handle.error.issues[0]?.message ?? 'is not a handle'}`, usage)
    const email = values.email!.trim()
    if (!Email.safeParse(email).success) throw new UsageError(`--email '${email}' is not an email address`, usage)
    const displayName = values['display-name']!.trim()
    const cognitoUserId = values['cognito-user-id']!.trim()

    const repo = await ctx.users()
    try {
      const user = await repo.add({ handle: handle.data, displayName, email, cognitoUserId })
      ctx.out(`added user ${user.handle} (${user.displayName}), uuid ${user.uuid}`)
    } catch (err) {
      if (!(err instanceof DuplicateUserError)) throw err
      throw new CliError(
        err.field === 'handle'
          ? `a user with handle "${handle.data}" already exists`
          : `cognito user id "${cognitoUserId}" already belongs to another user`,
      )
    }
  },
}
