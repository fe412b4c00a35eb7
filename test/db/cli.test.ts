// `npm run db -- <command>` against a real PostgreSQL database and a dynalite of the test's own,
// run as a child process: outputs, idempotence and exit codes.
import t from 'tap'
import { createConversationsStore } from '../../server/data/conversations-store.js'
import { createDynamo } from '../../server/data/dynamo.js'
import { createUsersRepository } from '../../server/data/users-repository.js'
import { assertOneLineFailure, freshDatabase, freshDynamo, lines, runCli, tempDir } from '../helpers/cli.js'

// Each command is a process of its own (tsx start-up included): about a minute on a quiet 2-core
// machine, more while other suites run beside it.
t.setTimeout(300_000)

const TABLE = 'cruddur-messages'
// A zone with a half-hour offset: a time printed in UTC (or with the offset ignored) cannot pass.
const TZ = 'Asia/Kolkata'

function kolkataTime(iso: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: TZ,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  )
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`
}

t.test('a fresh environment, command by command', async (t) => {
  const [db, endpoint, dataDir] = await Promise.all([freshDatabase(t), freshDynamo(t), tempDir(t)])
  const env = { DATABASE_URL: db.url, AWS_ENDPOINT_URL_DYNAMODB: endpoint, DDB_MESSAGE_TABLE: TABLE, DATA_DIR: dataDir, TZ }
  const cli = (...args: string[]) => runCli(args, env)
  const ddb = createDynamo({ aws: { region: 'us-east-1', dynamodbEndpoint: endpoint } })
  t.teardown(() => ddb.destroy())
  const store = createConversationsStore(ddb, TABLE)
  const users = createUsersRepository(db.sql)
  let groupUuid = ''

  await t.test('setup on an empty environment does every step, in order', async (t) => {
    const r = await cli('setup')
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stderr, '')
    const out = lines(r.stdout)
    t.same(
      out.filter((l) => l.startsWith('== ')),
      ['== pg:migrate', '== pg:seed', '== ddb:schema-load', '== ddb:seed'],
    )
    t.ok(out.includes('applied 0001_users.sql'))
    t.ok(out.includes('added seed users: andrewbrown, bayko, londo'))
    t.ok(out.includes(`created table ${TABLE} (index message-group-sk-index)`))
    const seeded = /^seeded conversation ([0-9a-f-]{36}) \(andrewbrown and bayko\): 100 messages$/m.exec(r.stdout)
    t.ok(seeded, 'the conversation is seeded')
    groupUuid = seeded![1]!
    t.equal(out.at(-1), 'setup complete')
    t.same((await users.list()).map((u) => u.handle).sort(), ['andrewbrown', 'bayko', 'londo'])
  })

  await t.test('setup again changes nothing and says so', async (t) => {
    const r = await cli('setup')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /PostgreSQL schema is up to date; nothing to apply/)
    t.match(r.stdout, /seed users already present; nothing to add/)
    t.match(r.stdout, new RegExp(`table ${TABLE} already exists; nothing to do`))
    t.match(r.stdout, new RegExp(`conversation ${groupUuid} \\(andrewbrown and bayko\\) already has messages; nothing to do`))
    t.equal((await users.list()).length, 3)
    t.equal((await store.listMessages(groupUuid, { limit: 100 })).items.length, 100)
  })

  await t.test('ddb:get-conversation: handle, local time, 40 characters, consumed capacity', async (t) => {
    const [r, latest] = await Promise.all([cli('ddb:get-conversation', groupUuid), cli('ddb:get-conversation', groupUuid, '--limit', '3')])
    t.equal(r.code, 0, r.stderr)
    const out = lines(r.stdout)
    const messages = (await store.listMessages(groupUuid, { limit: 100 })).items
    t.equal(out.length, messages.length + 1)
    const expected = messages.map((m) => {
      const text = m.message.length > 40 ? `${m.message.slice(0, 40)}...` : m.message
      return `${m.handle.padEnd('andrewbrown'.length)}  ${kolkataTime(m.createdAt)}  ${text}`
    })
    t.same(out.slice(0, -1), expected, 'oldest first, aligned, local time, first 40 characters')
    t.ok(messages.some((m) => m.message.length > 40), 'the seed has long messages to cut')
    t.match(out.at(-1), /^100 messages; consumed capacity: \d+(\.\d+)? read capacity units \(1 query request\)$/)

    t.equal(latest.code, 0, latest.stderr)
    t.same(lines(latest.stdout).slice(0, -1), expected.slice(-3), 'the latest three, oldest first')
    t.match(lines(latest.stdout).at(-1), /^3 messages; consumed capacity: /)
  })

  await t.test('ddb:get-conversation refuses a bad or unknown conversation', async (t) => {
    const [missing, bad, unknown] = await Promise.all([
      cli('ddb:get-conversation'),
      cli('ddb:get-conversation', 'not-a-uuid'),
      cli('ddb:get-conversation', '00000000-0000-4000-8000-000000000000'),
    ])
    assertOneLineFailure(t, missing, 2, /^error: missing <messageGroupUuid>$/)
    assertOneLineFailure(t, bad, 2, /^error: 'not-a-uuid' is not a uuid$/)
    assertOneLineFailure(t, unknown, 1, /^error: conversation 0{8}-.* has no messages/)
  })

  await t.test('ddb:list-conversations resolves the handle through PostgreSQL', async (t) => {
    const [r, none, nobody] = await Promise.all([
      cli('ddb:list-conversations', '@Bayko'),
      cli('ddb:list-conversations', 'londo'),
      cli('ddb:list-conversations', 'nobody'),
    ])
    t.equal(r.code, 0, r.stderr)
    const out = lines(r.stdout)
    const group = (await store.listGroups((await users.findByHandle('bayko'))!.uuid, { limit: 10 })).items[0]!
    t.same(out, [
      'conversations of bayko (Andrew Bayko), newest first:',
      `  ${kolkataTime(group.createdAt)}  andrewbrown  Andrew Brown  ${groupUuid}  ${group.message}`,
      '1 conversation',
    ])
    t.equal(none.code, 0)
    t.same(lines(none.stdout), ['conversations of londo (Londo Mollari), newest first:', '0 conversations'])
    assertOneLineFailure(t, nobody, 1, /^error: no user with handle "nobody" in PostgreSQL$/)
  })

  await t.test('ddb:scan and ddb:list-tables', async (t) => {
    // Without NODE_NO_WARNINGS the AWS SDK's Node-version warning must not show either.
    const [scan, tables] = await Promise.all([cli('ddb:scan'), runCli(['ddb:list-tables'], { ...env, NODE_NO_WARNINGS: undefined })])
    t.equal(scan.code, 0, scan.stderr)
    const out = lines(scan.stdout)
    t.match(out[0], /^pk\s+sk\s+user_handle\s+message$/)
    t.equal(out.at(-1), `103 items in ${TABLE}`, '100 messages, two group items and the conversation head')
    t.equal(out.filter((l) => l.startsWith('GRP#')).length, 2)
    t.equal(out.filter((l) => l.startsWith('MSG#')).length, 100)
    // The head (the conversation's message sequence, server/data/reservations.ts) has no handle.
    t.match(out.filter((l) => l.startsWith('HEAD#')), [/^HEAD#\S+\s+messages$/])
    const column = out[0]!.indexOf('user_handle')
    const rows = out.slice(1, -1).filter((l) => !l.startsWith('HEAD#'))
    t.ok(rows.every((l) => /^(andrewbrown|bayko)\s/.test(l.slice(column))), 'columns are aligned')

    t.equal(tables.code, 0)
    t.equal(tables.stdout, `${TABLE}\n`)
    t.equal(tables.stderr, '', 'no warnings on stderr')
  })

  await t.test('users:add', async (t) => {
    const add = await cli('users:add', '--handle', 'gkar', '--display-name', "G'Kar", '--email', 'gkar@narn.example', '--cognito-user-id', 'sub-gkar')
    t.equal(add.code, 0, add.stderr)
    t.match(add.stdout, /^added user gkar \(G'Kar\), uuid [0-9a-f-]{36}\n$/)
    const row = await users.findByHandle('gkar')
    t.match(row, { handle: 'gkar', displayName: "G'Kar", email: 'gkar@narn.example', cognitoUserId: 'sub-gkar' })

    const [dupHandle, dupSub, missing] = await Promise.all([
      cli('users:add', '--handle', 'GKAR', '--display-name', 'X', '--email', 'x@x.example', '--cognito-user-id', 'other'),
      cli('users:add', '--handle', 'vir', '--display-name', 'Vir', '--email', 'vir@x.example', '--cognito-user-id', 'sub-gkar'),
      cli('users:add', '--handle', 'vir', '--display-name', 'Vir', '--email', 'vir@x.example'),
    ])
    assertOneLineFailure(t, dupHandle, 1, /^error: a user with handle "GKAR" already exists$/)
    assertOneLineFailure(t, dupSub, 1, /^error: cognito user id "sub-gkar" already belongs to another user$/)
    assertOneLineFailure(t, missing, 2, /^error: missing --cognito-user-id$/)
    t.equal(lines(missing.stderr)[1], 'usage: npm run db -- users:add --handle H --display-name N --email E --cognito-user-id S')
    t.equal(await users.findByHandle('vir'), null, 'nothing was added')
  })

  await t.test('ddb:drop, then the table is gone and commands say so', async (t) => {
    const drop = await cli('ddb:drop', TABLE)
    t.equal(drop.code, 0, drop.stderr)
    t.equal(drop.stdout, `dropped table ${TABLE}\n`)
    const again = await cli('ddb:drop', TABLE)
    t.equal(again.code, 0, again.stderr)
    t.equal(again.stdout, `table ${TABLE} does not exist; nothing to drop\n`)
    const list = await cli('ddb:list-tables')
    t.equal(list.stdout, '(no tables)\n')
    assertOneLineFailure(
      t,
      await cli('ddb:seed'),
      1,
      new RegExp(`^error: DynamoDB at ${endpoint.replace(/\./g, '\\.')}: table "${TABLE}" does not exist \\(run ddb:schema-load\\)$`),
    )
    const load = await cli('ddb:schema-load')
    t.equal(load.code, 0, load.stderr)
    t.equal(load.stdout, `created table ${TABLE} (index message-group-sk-index)\n`)
  })
})
