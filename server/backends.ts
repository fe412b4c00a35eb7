// Opens the data stores the configuration names, or embedded stand-ins when it names none (never in
// production: the configuration refuses that). The server and every command start here.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from './config.js'
import { createDynamo } from './data/dynamo.js'
import { createSql, type Sql } from './data/postgres.js'
import { startDynalite } from './embedded/dynalite.js'
import { startPglite } from './embedded/pglite.js'

export interface Backends {
  sql: Sql
  ddb: DynamoDBDocumentClient
  databaseUrl: string
  dynamoEndpoint: string | undefined
  /** Which stand-ins this process started. */
  embedded: { postgres: boolean; dynamo: boolean }
  close(): Promise<void>
}

interface EmbeddedInfo {
  pid: number
  databaseUrl?: string
  dynamoEndpoint?: string
}

const infoFile = (config: Config) => join(resolve(config.dataDir), 'embedded.json')

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Connects to the configured backends. Where one is not configured, it reuses the embedded one of a
 * running `npm start` (so commands work beside the server), or starts its own on the data directory.
 * `share` publishes this process's embedded backends for other processes (the server does).
 */
export async function openBackends(config: Config, options: { share?: boolean; dynamo?: boolean } = {}): Promise<Backends> {
  const closers: (() => Promise<void>)[] = []
  const embedded = { postgres: false, dynamo: false }
  let running: EmbeddedInfo | undefined
  if (!config.databaseUrl || !config.aws.dynamodbEndpoint) {
    running = await readFile(infoFile(config), 'utf8')
      .then((s) => JSON.parse(s) as EmbeddedInfo)
      .catch(() => undefined)
    if (running && (running.pid === process.pid || !alive(running.pid))) running = undefined
  }

  let databaseUrl = config.databaseUrl ?? running?.databaseUrl
  if (!databaseUrl) {
    await mkdir(resolve(config.dataDir), { recursive: true })
    const pg = await startPglite({ dataDir: join(resolve(config.dataDir), 'postgres') })
    databaseUrl = pg.url
    embedded.postgres = true
    closers.push(() => pg.close())
  }
  let dynamoEndpoint = config.aws.dynamodbEndpoint ?? running?.dynamoEndpoint
  if (!dynamoEndpoint && !config.production && options.dynamo !== false) {
    await mkdir(resolve(config.dataDir), { recursive: true })
    const dyn = await startDynalite({ path: join(resolve(config.dataDir), 'dynamodb') })
    dynamoEndpoint = dyn.endpoint
    embedded.dynamo = true
    closers.push(() => dyn.close())
  }

  // PGlite serves one backend: one connection avoids resets under concurrency.
  const sql = createSql(databaseUrl, { max: config.databaseUrl ? 10 : 1 })
  const ddb = createDynamo(config, dynamoEndpoint, { deadlineMs: config.deadlines.dynamodbMs })

  if (options.share && (embedded.postgres || embedded.dynamo)) {
    const info: EmbeddedInfo = {
      pid: process.pid,
      ...(embedded.postgres ? { databaseUrl } : {}),
      ...(embedded.dynamo ? { dynamoEndpoint } : {}),
    }
    await writeFile(infoFile(config), JSON.stringify(info))
    closers.unshift(() => rm(infoFile(config), { force: true }))
  }

  return {
    sql,
    ddb,
    databaseUrl,
    dynamoEndpoint,
    embedded,
    async close() {
      await sql.end({ timeout: 5 })
      ddb.destroy()
      for (const close of closers) await close()
    },
  }
}
