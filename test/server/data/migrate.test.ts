import { readdir } from 'node:fs/promises'
import t, { type Test } from 'tap'
import { migrate } from '../../../server/data/migrate.js'
import { createSql, type Sql } from '../../../server/data/postgres.js'
import { createUsersRepository, DuplicateUserError } from '../../../server/data/users-repository.js'
import { testDatabase } from '../../helpers/databases.js'

/** Every migration file, in order: what a fresh database should end up with. */
const MIGRATIONS = (await readdir(new URL('../../../server/data/migrations/', import.meta.url))).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort()

/** A fresh, EMPTY database (not migrated), dropped at teardown; `connect` opens more pools to it. */
async function emptyDatabase(t: Test): Promise<{ sql: Sql; connect: () => Sql }> {
  const db = await testDatabase(t, { migrated: false, prefix: 'cm_migrate' })
  const pools: Sql[] = []
  t.teardown(() => Promise.all(pools.map((p) => p.end({ timeout: 5 }))))
  const connect = () => {
    const sql = createSql(db.url, { max: 2 })
    pools.push(sql)
    return sql
  }
  return { sql: db.sql, connect }
}

t.test('there are migrations, numbered without gaps', async (t) => {
  t.ok(MIGRATIONS.length >= 2)
  t.same(
    MIGRATIONS.map((f) => Number(f.slice(0, 4))),
    MIGRATIONS.map((_, i) => i + 1),
  )
})

t.test('a fresh database: applied once, in order, and recorded', async (t) => {
  const { sql } = await emptyDatabase(t)
  t.same(await migrate(sql), MIGRATIONS, 'all applied')

  const recorded = await sql<{ version: string; name: string; applied_at: Date }[]>`select version, name, applied_at from schema_migrations order by version`
  t.same(
    recorded.map((r) => [r.version, r.name]),
    MIGRATIONS.map((f) => [f.slice(0, 4), f]),
  )
  for (const r of recorded) t.type(r.applied_at, Date)

  const columns = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns where table_name = 'users' order by ordinal_position`
  t.same(
    columns.map((c) => c.column_name),
    ['uuid', 'display_name', 'handle', 'email', 'cognito_user_id', 'created_at'],
    "the original's users columns",
  )

  t.same(await migrate(sql), [], 'a second run applies nothing')
  t.equal((await sql`select 1 from schema_migrations`).length, MIGRATIONS.length, 'nothing recorded twice')
})

t.test('concurrent migrators (two instances starting at once) neither fail nor double-apply', async (t) => {
  const { connect } = await emptyDatabase(t)
  const runs = await Promise.all([migrate(connect()), migrate(connect()), migrate(connect())])
  t.same(runs.flat().sort(), MIGRATIONS, 'each migration applied by exactly one of them')
  const sql = connect()
  t.equal((await sql`select 1 from schema_migrations`).length, MIGRATIONS.length)
  t.same(await migrate(sql), [])
})

t.test("adopts the original system's users table, 'MOCK' Cognito ids and all", async (t) => {
  const { sql } = await emptyDatabase(t)
  // The original's db/schema.sql (no constraints, naive timestamps) and its seed's placeholder subs.
  await sql.unsafe(`
    create extension if not exists "uuid-ossp";
    create table public.users (
      uuid UUID default uuid_generate_v4() primary key,
      display_name text,
      handle text,
      email text,
      cognito_user_id text,
      created_at timestamp default current_timestamp NOT NULL
    );
    create table public.activities (
      uuid UUID default uuid_generate_v4() primary key,
      user_uuid UUID references public.users(uuid) NOT NULL,
      message text NOT NULL,
      created_at timestamp default current_timestamp NOT NULL
    );
    insert into public.users (display_name, handle, email, cognito_user_id) values
      ('Andrew Brown', 'andrewbrown', 'andrew@example.com', 'MOCK'),
      ('Andrew Bayko', 'bayko', 'bayko@example.com', 'MOCK'),
      ('Londo Mollari', 'londo', 'londo@example.com', 'a1b2c3d4-0000-4000-8000-000000000003');
    insert into public.activities (user_uuid, message)
      select uuid, 'This was imported as seed data!' from public.users where handle = 'andrewbrown';
  `)
  const before = await sql<{ uuid: string; handle: string }[]>`select uuid, handle from users order by handle`

  t.same(await migrate(sql), MIGRATIONS)

  const after = await sql<{ uuid: string; handle: string; cognito_user_id: string | null }[]>`
    select uuid, handle, cognito_user_id from users order by handle`
  t.same(
    after.map((r) => [r.uuid, r.handle]),
    before.map((r) => [r.uuid, r.handle]),
    'every user kept, with its uuid (activities still point at them)',
  )
  t.same(
    after.map((r) => r.cognito_user_id),
    [null, null, 'a1b2c3d4-0000-4000-8000-000000000003'],
    "'MOCK' is no sub: cleared, a real one kept",
  )
  t.equal((await sql`select 1 from activities`).length, 1, 'other tables untouched')

  const users = createUsersRepository(sql)
  t.equal((await users.findByHandle('@AndrewBrown'))?.displayName, 'Andrew Brown')
  const added = await users.add({ handle: 'g_kar', displayName: "G'Kar", email: 'g@example.com' })
  t.match(added.uuid, /^[0-9a-f-]{36}$/, 'new users get a uuid from the old default')
  t.type(added.createdAt, Date)
  await t.rejects(users.add({ handle: 'BAYKO', displayName: 'x', email: 'x@example.com' }), new DuplicateUserError('handle'), 'now unique')
  t.equal((await users.setCognitoUserId('andrewbrown', 'a1b2c3d4-0000-4000-8000-000000000001'))?.cognitoUserId, 'a1b2c3d4-0000-4000-8000-000000000001')
  t.same(await migrate(sql), [], 'and adopted only once')
})
