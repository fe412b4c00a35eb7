// The PostgreSQL pool (postgres.js). Queries elsewhere are tagged templates: always parameterized.
import postgres from 'postgres'

export type Sql = postgres.Sql

export function createSql(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 30,
  })
}
