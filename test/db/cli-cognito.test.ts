// cognito:list-users and cognito:sync-user-ids against cognito-local (a child process of the test)
// and a real PostgreSQL database.
import t from 'tap'
import { createUsersRepository } from '../../server/data/users-repository.js'
import { seedUsers, SEED_USERS } from '../../server/data/seed.js'
import { testDatabase } from '../helpers/databases.js'
import { assertOneLineFailure, lines, runCli, tempDir } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { startCognitoLocal } from '../helpers/cognito-local.js'

// Each command is a process of its own (tsx start-up included): about a minute on a quiet 2-core
// machine, more while other suites run beside it.
t.setTimeout(300_000)

t.test('cognito commands against cognito-local', async (t) => {
  const [cognito, db, dataDir, deadPort] = await Promise.all([startCognitoLocal(t), testDatabase(t), tempDir(t), freePort()])
  const users = createUsersRepository(db.sql)
  await seedUsers(users)
  const poolId = await cognito.createPool()
  t.match(poolId, /^local_/)
  const subs = {
    andrewbrown: await cognito.addUser(poolId, { email: 'andrew@cruddur.example', preferredUsername: 'andrewbrown' }),
    // Handles match whatever their case.
    bayko: await cognito.addUser(poolId, { email: 'bayko@cruddur.example', preferredUsername: 'Bayko' }),
    stranger: await cognito.addUser(poolId, { email: 'stranger@elsewhere.example', preferredUsername: 'stranger' }),
    nameless: await cognito.addUser(poolId, { email: 'nameless@elsewhere.example' }),
  }
  const env = {
    DATABASE_URL: db.url,
    // Never contacted by these commands (nothing listens there); set so no embedded stand-in starts.
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${deadPort}`,
    COGNITO_USER_POOL_ID: poolId,
    COGNITO_CLIENT_ID: 'cliTestClient',
    AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: cognito.endpoint,
    DATA_DIR: dataDir,
  }
  const cli = (args: string[], extra: Record<string, string | undefined> = {}) => runCli(args, { ...env, ...extra })

  await t.test('cognito:list-users lists every user of the pool', async (t) => {
    const r = await cli(['cognito:list-users'])
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stderr, '')
    const out = lines(r.stdout)
    t.match(out[0], /^handle\s+sub\s+email\s+status\s+username$/)
    t.equal(out.length, 6)
    t.equal(out.at(-1), `4 users in ${poolId}`)
    const row = (sub: string) => out.find((l) => l.includes(sub)) ?? ''
    t.match(row(subs.andrewbrown), /^andrewbrown\s+\S+\s+andrew@cruddur\.example\s+FORCE_CHANGE_PASSWORD\s+\S+$/)
    t.match(row(subs.bayko), /^Bayko\s/)
    t.match(row(subs.nameless), /^-\s+\S+\s+nameless@elsewhere\.example\s/)
    const subColumn = out[0]!.indexOf('sub')
    t.ok(Object.values(subs).every((s) => out.some((l) => l.slice(subColumn).startsWith(s))), 'the sub column is aligned')
  })

  await t.test('cognito:sync-user-ids writes the subs of matched handles', async (t) => {
    const r = await cli(['cognito:sync-user-ids'])
    t.equal(r.code, 0, r.stderr)
    const out = lines(r.stdout)
    const outcome = (sub: string) => out.find((l) => l.includes(sub)) ?? ''
    const seeded = (handle: string) => SEED_USERS.find((u) => u.handle === handle)!.cognitoUserId
    t.match(outcome(subs.andrewbrown), new RegExp(`matched: updated \\(was ${seeded('andrewbrown')}\\)$`))
    t.match(outcome(subs.bayko), /^Bayko\s.*matched: updated/)
    t.match(outcome(subs.stranger), /unmatched: no such handle in PostgreSQL$/)
    t.match(outcome(subs.nameless), /^-\s.*unmatched: no preferred_username$/)
    t.equal(out.at(-1), 'matched 2 (2 updated, 0 already set), unmatched 2')
    t.equal((await users.findByHandle('andrewbrown'))?.cognitoUserId, subs.andrewbrown)
    t.equal((await users.findByHandle('bayko'))?.cognitoUserId, subs.bayko)
    t.equal((await users.findByHandle('londo'))?.cognitoUserId, seeded('londo'), 'a user not in the pool keeps its id')
    t.equal(await users.findByHandle('stranger'), null, 'nobody is created')

    const again = await cli(['cognito:sync-user-ids'])
    t.equal(again.code, 0, again.stderr)
    t.equal(lines(again.stdout).at(-1), 'matched 2 (0 updated, 2 already set), unmatched 2')
    t.match(again.stdout, /andrewbrown\s.*matched: already set/)
  })

  await t.test('failures are one line', async (t) => {
    const [down, wrongPool, noPool, extra] = await Promise.all([
      cli(['cognito:list-users'], { AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: `http://127.0.0.1:${deadPort}` }),
      cli(['cognito:sync-user-ids'], { COGNITO_USER_POOL_ID: 'local_NoSuchPool' }),
      cli(['cognito:list-users'], { COGNITO_USER_POOL_ID: undefined, COGNITO_CLIENT_ID: undefined }),
      cli(['cognito:list-users', 'extra']),
    ])
    assertOneLineFailure(t, down, 1, new RegExp(`^error: Cognito at http://127\\.0\\.0\\.1:${deadPort} is unreachable \\(ECONNREFUSED\\)$`))
    assertOneLineFailure(t, wrongPool, 1, /^error: Cognito at http:\/\/127\.0\.0\.1:\d+: ResourceNotFoundException: .*local_NoSuchPool/)
    assertOneLineFailure(t, noPool, 1, /^error: COGNITO_USER_POOL_ID is not set/)
    assertOneLineFailure(t, extra, 2, /^error: unexpected argument 'extra'$/)
  })
})
