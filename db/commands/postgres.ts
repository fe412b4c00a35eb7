// PostgreSQL: the schema (versioned migrations) and the seed users.
import { migrate } from '../../server/data/migrate.js'
import { seedUsers } from '../../server/data/seed.js'
import { type Command, parseCommandArgs } from './common.js'
import type { Context } from './context.js'

export const pgMigrate: Command<Context> = {
  name: 'pg:migrate',
  args: '',
  summary: 'apply pending PostgreSQL migrations (db/migrations)',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const applied = await migrate(await ctx.sql())
    if (applied.length === 0) ctx.out('PostgreSQL schema is up to date; nothing to apply')
    for (const name of applied) ctx.out(`applied ${name}`)
  },
}

export const pgSeed: Command<Context> = {
  name: 'pg:seed',
  args: '',
  summary: 'add the seed users (andrewbrown, bayko, londo) that are missing',
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    const added = await seedUsers(await ctx.users())
    ctx.out(added.length ? `added seed users: ${added.join(', ')}` : 'seed users already present; nothing to add')
  },
}
