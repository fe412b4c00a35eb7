// Versioned migrations: db/migrations/NNNN_name.sql, each applied once, in order, and recorded.
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Sql } from './postgres.js'

const DIR = fileURLToPath(new URL('./migrations/', import.meta.url))
/** Serializes concurrent migrators (two instances starting at once). */
const LOCK_ID = 725_0001

/** Applies pending migrations; returns the names applied now. */
export async function migrate(sql: Sql): Promise<string[]> {
  const files = (await readdir(DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort()
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_ID})`
    await tx`create table if not exists schema_migrations (
      version text primary key, name text not null, applied_at timestamptz not null default now())`
    const done = new Set((await tx<{ version: string }[]>`select version from schema_migrations`).map((r) => r.version))
    const applied: string[] = []
    for (const file of files) {
      const version = file.slice(0, 4)
      if (done.has(version)) continue
      await tx.unsafe(await readFile(DIR + file, 'utf8'))
      await tx`insert into schema_migrations (version, name) values (${version}, ${file})`
      applied.push(file)
    }
    return applied
  })
}
