// The command line's failures: usage errors (exit 2), unreachable services, bad configuration (exit 1),
// always one line on stderr and never a stack trace.
import t from 'tap'
import { seedUsers } from '../../server/data/seed.js'
import { createUsersRepository } from '../../server/data/users-repository.js'
import { testDatabase } from '../helpers/databases.js'
import { assertOneLineFailure, freshDynamo, lines, runCli, tempDir } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'

t.test('help and usage', async (t) => {
  const dataDir = await tempDir(t)
  const [none, help, unknown, commandHelp, extra, missing, flag, badLimit] = await Promise.all([
    runCli([], { DATA_DIR: dataDir }),
    runCli(['help'], { DATA_DIR: dataDir }),
    runCli(['db:explode'], { DATA_DIR: dataDir }),
    runCli(['users:add', '--help'], { DATA_DIR: dataDir }),
    runCli(['pg:migrate', 'now'], { DATA_DIR: dataDir }),
    runCli(['ddb:drop'], { DATA_DIR: dataDir }),
    runCli(['users:add', '--handle', 'x', '--display-name', 'X', '--email', 'x@x.example', '--cognito-user-id', 's', '--admin'], { DATA_DIR: dataDir }),
    runCli(['ddb:get-conversation', '00000000-0000-4000-8000-000000000000', '--limit', 'lots'], { DATA_DIR: dataDir }),
  ])
  t.equal(none.code, 0)
  t.equal(none.stdout, help.stdout, 'no arguments prints the help')
  t.match(help.stdout, /^usage: npm run db -- <command> \[arguments\]\n/)
  for (const name of [
    'setup',
    'pg:migrate',
    'pg:seed',
    'ddb:schema-load',
    'ddb:drop <table>',
    'ddb:list-tables',
    'ddb:scan',
    'ddb:seed',
    'ddb:get-conversation <messageGroupUuid>',
    'ddb:list-conversations <handle>',
    'cognito:list-users',
    'cognito:sync-user-ids',
    'users:add --handle H --display-name N --email E --cognito-user-id S',
  ]) {
    t.ok(lines(help.stdout).some((l) => l.trim().startsWith(name)), `help lists ${name}`)
  }
  t.equal(unknown.code, 2)
  t.equal(lines(unknown.stderr)[0], "error: unknown command 'db:explode'")
  t.equal(commandHelp.code, 0)
  t.match(commandHelp.stdout, /^usage: npm run db -- users:add --handle H --display-name N --email E --cognito-user-id S\n/)
  // Usage errors are found before anything is opened (nothing is configured: no embedded stand-in starts).
  assertOneLineFailure(t, extra, 2, /^error: unexpected argument 'now'$/)
  t.equal(lines(extra.stderr)[1], 'usage: npm run db -- pg:migrate')
  assertOneLineFailure(t, missing, 2, /^error: missing <table>$/)
  assertOneLineFailure(t, flag, 2, /^error: unknown option '--admin'$/)
  assertOneLineFailure(t, badLimit, 2, /^error: --limit must be a positive whole number$/)
})

t.test('unreachable services and bad configuration', async (t) => {
  const [deadPort, dataDir, endpoint, db] = await Promise.all([freePort(), tempDir(t), freshDynamo(t), testDatabase(t)])
  await seedUsers(createUsersRepository(db.sql))
  const deadPg = `postgres://postgres:secret@127.0.0.1:${deadPort}/cruddur`
  const deadDynamo = `http://127.0.0.1:${deadPort}`
  const base = { DATA_DIR: dataDir, DATABASE_URL: db.url, AWS_ENDPOINT_URL_DYNAMODB: endpoint }

  const [pgMigrate, setup, pgAdd, noDatabase, ddbList, ddbScan, listConversations, config, configPair] = await Promise.all([
    runCli(['pg:migrate'], { ...base, DATABASE_URL: deadPg }),
    runCli(['setup'], { ...base, DATABASE_URL: deadPg }),
    runCli(['users:add', '--handle', 'h', '--display-name', 'H', '--email', 'h@x.example', '--cognito-user-id', 's'], { ...base, DATABASE_URL: deadPg }),
    runCli(['pg:seed'], { ...base, DATABASE_URL: `postgres://postgres@127.0.0.1:5432/cm_no_such_database` }),
    runCli(['ddb:list-tables'], { ...base, AWS_ENDPOINT_URL_DYNAMODB: deadDynamo }),
    runCli(['ddb:scan'], { ...base, AWS_ENDPOINT_URL_DYNAMODB: deadDynamo }),
    // PostgreSQL is fine, DynamoDB is not: the message names the one that failed.
    runCli(['ddb:list-conversations', 'bayko'], { ...base, AWS_ENDPOINT_URL_DYNAMODB: deadDynamo }),
    runCli(['ddb:list-tables'], { ...base, DDB_MESSAGE_TABLE: 'x' }),
    runCli(['pg:migrate'], { ...base, COGNITO_USER_POOL_ID: 'us-east-1_Abc' }),
  ])
  const pgDown = new RegExp(`^error: PostgreSQL at 127\\.0\\.0\\.1:${deadPort} is unreachable \\(ECONNREFUSED\\)$`)
  assertOneLineFailure(t, pgMigrate, 1, pgDown, 'pg:migrate with PostgreSQL down')
  assertOneLineFailure(t, setup, 1, pgDown, 'setup with PostgreSQL down')
  t.equal(setup.stdout, '== pg:migrate\n', 'setup stops at the first step')
  assertOneLineFailure(t, pgAdd, 1, pgDown, 'users:add with PostgreSQL down')
  t.notMatch(pgMigrate.stderr + setup.stderr + pgAdd.stderr, /secret/, 'the password is never printed')
  assertOneLineFailure(
    t,
    noDatabase,
    1,
    /^error: PostgreSQL at 127\.0\.0\.1:5432 refused the connection: database "cm_no_such_database" does not exist$/,
  )
  const ddbDown = new RegExp(`^error: DynamoDB at http://127\\.0\\.0\\.1:${deadPort} is unreachable \\(ECONNREFUSED\\)$`)
  assertOneLineFailure(t, ddbList, 1, ddbDown, 'ddb:list-tables with dynalite down')
  assertOneLineFailure(t, ddbScan, 1, ddbDown, 'ddb:scan with dynalite down')
  assertOneLineFailure(t, listConversations, 1, ddbDown, 'ddb:list-conversations with PostgreSQL up and dynalite down')
  assertOneLineFailure(t, config, 1, /^error: DDB_MESSAGE_TABLE: must be a DynamoDB table name \(got "x"\)$/)
  assertOneLineFailure(t, configPair, 1, /^error: COGNITO_CLIENT_ID: required when the other Cognito variable is set$/)
  for (const r of [pgMigrate, pgAdd, noDatabase, ddbList, ddbScan, config]) t.equal(r.stdout, '', 'nothing on stdout')
})
