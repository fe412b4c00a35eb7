// `npm run db -- <command>`: the utility scripts of the original, one command each, against whatever
// the configuration (the same environment names as the server) points at. Any failure is one line on
// stderr: exit 2 for a wrong argument (with the command's usage), exit 1 for everything else.

import { ConfigError, loadConfig } from '../server/config.js'
import { oneLine, quietNodeVersionWarning } from '../server/lib/process.js'
import { cognitoListUsers, cognitoSyncUserIds } from './commands/cognito.js'
import { CliError, type Command, PROGRAM, UsageError, usageOf } from './commands/common.js'
import { type Context, createContext } from './commands/context.js'
import {
  ddbDrop,
  ddbGetConversation,
  ddbListConversations,
  ddbListTables,
  ddbScan,
  ddbSchemaLoad,
  ddbSeed,
} from './commands/dynamo.js'
import { pgMigrate, pgSeed } from './commands/postgres.js'
import { setup } from './commands/setup.js'
import { usersAdd } from './commands/users.js'

const COMMANDS: readonly Command<Context>[] = [
  setup,
  pgMigrate,
  pgSeed,
  ddbSchemaLoad,
  ddbDrop,
  ddbListTables,
  ddbScan,
  ddbSeed,
  ddbGetConversation,
  ddbListConversations,
  cognitoListUsers,
  cognitoSyncUserIds,
  usersAdd,
]

// The AWS SDK warns on Node 20 that later releases need Node 22: not the user's business here.
// Other warnings are one line, like every other message of the command line.
quietNodeVersionWarning()
process.removeAllListeners('warning')
process.on('warning', (warning) => {
  if (process.env.NODE_NO_WARNINGS !== '1') process.stderr.write(`warning: ${oneLine(warning)}\n`)
})

const stdout = (line: string) => process.stdout.write(`${line}\n`)
const stderr = (line: string) => process.stderr.write(`${line}\n`)

function help(): void {
  stdout(`usage: ${PROGRAM} <command> [arguments]`)
  stdout('')
  stdout('Commands (configured by the environment, as the server: DATABASE_URL, AWS_ENDPOINT_URL_DYNAMODB,')
  stdout('DDB_MESSAGE_TABLE, COGNITO_USER_POOL_ID, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, ...):')
  for (const c of COMMANDS) {
    stdout(`  ${c.name}${c.args ? ` ${c.args}` : ''}`)
    stdout(`      ${c.summary}`)
  }
  stdout('  help')
  stdout('      this list')
}

/** Runs one command line; resolves to the exit code. Never throws. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    help()
    return 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (!command) {
    stderr(`error: unknown command '${name}'`)
    stderr(`run '${PROGRAM} help' for the list of commands`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    stdout(usageOf(command))
    stdout(`  ${command.summary}`)
    return 0
  }

  let ctx: Context
  try {
    ctx = createContext(loadConfig(process.env), stdout)
  } catch (err) {
    stderr(`error: ${err instanceof ConfigError ? err.message : oneLine(err)}`)
    return 1
  }
  try {
    await command.run(ctx, rest)
    return 0
  } catch (err) {
    if (err instanceof UsageError) {
      stderr(`error: ${err.reason}`)
      stderr(err.usage)
      return 2
    }
    stderr(`error: ${safely(() => ctx.describe(err), err)}`)
    return err instanceof CliError ? err.exitCode : 1
  } finally {
    // Close every connection so the process can end; never let closing hide the answer.
    await Promise.race([ctx.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
  }
}

function safely(describe: () => string, err: unknown): string {
  try {
    return describe()
  } catch {
    return oneLine(err)
  }
}

function fatal(err: unknown): void {
  stderr(`error: ${oneLine(err)}`)
  process.exit(1)
}

// `npm run db -- ddb:scan | head`: a reader that stops early is no failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  fatal(err)
})
process.on('uncaughtException', fatal)
process.on('unhandledRejection', fatal)

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
  // Everything is closed, so the process ends by itself; should a stray handle linger, end anyway.
  setTimeout(() => process.exit(code), 2000).unref()
}, fatal)
