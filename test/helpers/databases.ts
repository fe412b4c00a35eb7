// Throwaway PostgreSQL databases on the machine's server, for tests and the bench: created empty
// (or migrated), dropped when done.
import { randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import { migrate } from '../../server/data/migrate.js'
import { createSql, type Sql } from '../../server/data/postgres.js'

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface ThrowawayDatabase {
  name: string
  url: string
  sql: Sql
  drop(): Promise<void>
}

/** Creates `<prefix>_<random>` on the server of `adminUrl`; migrated unless told otherwise. */
export async function createThrowawayDatabase(
  options: { adminUrl?: string; prefix?: string; migrated?: boolean; poolSize?: number } = {},
): Promise<ThrowawayDatabase> {
  const adminUrl = options.adminUrl ?? ADMIN_DATABASE_URL
  const name = `${options.prefix ?? 'cm_test'}_${randomBytes(6).toString('hex')}`
  const admin = createSql(adminUrl, { max: 1 })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const sql = createSql(url.toString(), { max: options.poolSize ?? 4 })
  let dropped: Promise<void> | undefined
  const drop = () =>
    (dropped ??= (async () => {
      await sql.end({ timeout: 5 }).catch(() => {})
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end({ timeout: 5 })
    })())
  try {
    if (options.migrated !== false) await migrate(sql)
  } catch (err) {
    await drop().catch(() => {})
    throw err
  }
  return { name, url: url.toString(), sql, drop }
}

/** A throwaway database for one test, dropped at its teardown. */
export async function testDatabase(t: Test, options: { migrated?: boolean; prefix?: string } = {}): Promise<{ url: string; sql: Sql }> {
  const db = await createThrowawayDatabase(options)
  t.teardown(() => db.drop())
  return db
}
