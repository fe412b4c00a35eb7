// A fresh environment in one command: every step is idempotent, so running it again is harmless.
import { type Command, parseCommandArgs } from './common.js'
import type { Context } from './context.js'
import { ddbSchemaLoad, ddbSeed } from './dynamo.js'
import { pgMigrate, pgSeed } from './postgres.js'

const STEPS = [pgMigrate, pgSeed, ddbSchemaLoad, ddbSeed]

export const setup: Command<Context> = {
  name: 'setup',
  args: '',
  summary: `prepare a fresh environment: ${STEPS.map((s) => s.name).join(', ')}`,
  async run(ctx, argv) {
    parseCommandArgs(this, argv, {})
    for (const step of STEPS) {
      ctx.out(`== ${step.name}`)
      await step.run(ctx, [])
    }
    ctx.out('setup complete')
  },
}
