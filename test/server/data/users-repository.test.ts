import t from 'tap'
import { normalizeHandle } from '@cruddur/contracts'
import { createUsersRepository, DuplicateUserError } from '../../../server/data/users-repository.js'
import { testDatabase } from '../../helpers/databases.js'

const SUB_1 = '11111111-1111-4111-8111-111111111111'
const SUB_2 = '22222222-2222-4222-8222-222222222222'

t.test('normalizeHandle drops one leading @ and surrounding space', async (t) => {
  t.equal(normalizeHandle('@bayko'), 'bayko')
  t.equal(normalizeHandle('bayko'), 'bayko')
  t.equal(normalizeHandle(' bayko '), 'bayko')
  t.equal(normalizeHandle('@Bayko'), 'Bayko', 'case is kept as written; comparisons ignore it')
})

t.test('users repository against PostgreSQL', async (t) => {
  const { sql } = await testDatabase(t)
  const users = createUsersRepository(sql)

  t.test('add stores the original columns and returns the user', async (t) => {
    const u = await users.add({ handle: '@Bayko', displayName: 'Andrew Bayko', email: 'bayko@example.com', cognitoUserId: SUB_1 })
    t.match(u.uuid, /^[0-9a-f-]{36}$/)
    t.equal(u.handle, 'Bayko', 'stored without the @')
    t.equal(u.displayName, 'Andrew Bayko')
    t.equal(u.email, 'bayko@example.com')
    t.equal(u.cognitoUserId, SUB_1)
    t.type(u.createdAt, Date)
    t.ok(Math.abs(u.createdAt.getTime() - Date.now()) < 60_000, 'created now')
    const [row] = await sql`select uuid, display_name, handle, email, cognito_user_id, created_at from users where uuid = ${u.uuid}`
    t.equal(row?.handle, 'Bayko')
    t.equal(row?.display_name, 'Andrew Bayko')
  })

  t.test('handles are unique whatever their case or @', async (t) => {
    for (const handle of ['Bayko', 'bayko', 'BAYKO', '@bayko']) {
      await t.rejects(users.add({ handle, displayName: 'Impostor', email: 'x@example.com' }), new DuplicateUserError('handle'), handle)
    }
    const err = await users.add({ handle: 'bayko', displayName: 'Impostor', email: 'x@example.com' }).catch((e: unknown) => e)
    t.type(err, DuplicateUserError)
    t.equal((err as DuplicateUserError).field, 'handle')
    t.equal((await users.list()).length, 1, 'nothing was inserted')
  })

  t.test('a Cognito sub maps to one user; many users may have none yet', async (t) => {
    const err = await users.add({ handle: 'londo', displayName: 'Londo Mollari', email: 'l@example.com', cognitoUserId: SUB_1 }).catch((e: unknown) => e)
    t.type(err, DuplicateUserError)
    t.equal((err as DuplicateUserError).field, 'cognito_user_id')
    t.match((err as Error).message, /cognito_user_id/)
    const londo = await users.add({ handle: 'londo', displayName: 'Londo Mollari', email: 'l@example.com' })
    t.equal(londo.cognitoUserId, null)
    const g = await users.add({ handle: 'g_kar', displayName: "G'Kar", email: 'g@example.com', cognitoUserId: null })
    t.equal(g.cognitoUserId, null, 'two users without a sub are fine')
  })

  t.test('findByHandle: with or without @, any case', async (t) => {
    for (const handle of ['Bayko', 'bayko', '@BAYKO', '@bayko']) {
      const u = await users.findByHandle(handle)
      t.equal(u?.handle, 'Bayko', JSON.stringify(handle))
      t.equal(u?.cognitoUserId, SUB_1)
    }
    t.equal(await users.findByHandle('nobody'), null)
    t.equal(await users.findByHandle('@'), null)
    t.equal(await users.findByHandle('bayk%'), null, 'no pattern matching')
  })

  t.test('findByCognitoUserId', async (t) => {
    t.equal((await users.findByCognitoUserId(SUB_1))?.handle, 'Bayko')
    t.equal(await users.findByCognitoUserId(SUB_2), null)
  })

  t.test('list returns everyone in creation order', async (t) => {
    t.same((await users.list()).map((u) => u.handle), ['Bayko', 'londo', 'g_kar'])
  })

  t.test('setCognitoUserId by handle', async (t) => {
    const u = await users.setCognitoUserId('@LONDO', SUB_2)
    t.equal(u?.handle, 'londo')
    t.equal(u?.cognitoUserId, SUB_2)
    t.equal((await users.findByCognitoUserId(SUB_2))?.handle, 'londo')
    t.equal(await users.setCognitoUserId('nobody', '33333333-3333-4333-8333-333333333333'), null, 'unknown handle')
    // Setting the same sub again is a no-op, not a conflict.
    t.equal((await users.setCognitoUserId('londo', SUB_2))?.cognitoUserId, SUB_2)
    // Another user's sub is refused.
    await t.rejects(users.setCognitoUserId('g_kar', SUB_1), new DuplicateUserError('cognito_user_id'))
    t.equal((await users.findByHandle('g_kar'))?.cognitoUserId, null)
  })

  t.test('other database errors are not disguised as duplicates', async (t) => {
    const err = await users
      .add({ handle: 'nodisplay', displayName: null as unknown as string, email: 'n@example.com' })
      .catch((e: unknown) => e)
    t.ok(err instanceof Error)
    t.notOk(err instanceof DuplicateUserError)
    t.equal((err as { code?: string }).code, '23502', 'not_null_violation')
  })
})
