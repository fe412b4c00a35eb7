// The one entry that listens. With nothing configured it runs on embedded backends (dynalite,
// PGlite, the in-process cache), set up and seeded, with a local development key for tokens.
import closeWithGrace from 'close-with-grace'
import { createTable } from '../db/ddb-schema.js'
import { migrate } from '../db/migrate.js'
import { seedConversation, seedUsers } from '../db/seed.js'
import { buildApp } from './app.js'
import { createAccessTokenVerifier } from './auth/verifier.js'
import { loadConfig } from './config.js'
import { openBackends } from './backends.js'
import { createConversationsStore } from './data/conversations-store.js'
import { createUsersRepository } from './data/users-repository.js'
import { createCache } from './cache/create-cache.js'
import { createMetrics } from './metrics.js'
import { describeFailure, quietNodeVersionWarning } from './process.js'

quietNodeVersionWarning()

async function main() {
  const config = loadConfig()
  const backends = await openBackends(config, { share: true })
  try {
    // Pending migrations are applied at every start (once, under a lock: instances may start
    // together). A local DynamoDB gets its table; on AWS the table is provisioned beforehand.
    await migrate(backends.sql)
    if (backends.dynamoEndpoint) await createTable(backends.ddb, config.table)
    if (backends.embedded.postgres || backends.embedded.dynamo) {
      // Zero-setup development: seed the embedded stores (idempotent).
      const users = createUsersRepository(backends.sql)
      await seedUsers(users)
      await seedConversation(createConversationsStore(backends.ddb, config.table), users)
    }
    const verifier = await createAccessTokenVerifier(config)
    const metrics = createMetrics()
    let cache: ReturnType<typeof createCache> | undefined
    const app = await buildApp({
      config,
      sql: backends.sql,
      ddb: backends.ddb,
      verifier,
      metrics,
      cache: (log) => (cache = createCache(config, { log, metrics })),
      logger: { level: config.logLevel },
    })

    closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
      if (err) app.log.error({ err }, 'shutting down after an error')
      else app.log.info({ signal }, 'shutting down')
      // In-flight requests finish first. Node closes keep-alive connections that are idle when
      // closing starts; the ones busy then become idle when they answer, so sweep until done.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 50)
      await app.close()
      clearInterval(sweep)
      await cache?.close()
      await backends.close()
    })

    await app.listen({ port: config.port, host: config.host })
    if (config.cognito.dev) {
      const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
      console.log(
        [
          '',
          'Cruddur Messages is running on embedded development backends.',
          'A token for a seeded user (andrewbrown, bayko, londo), signed with the local development key:',
          '  npm run -s token -- bayko',
          'Try it:',
          `  curl -s -H "Authorization: Bearer $(npm run -s token -- bayko)" '${base}/trpc/messageGroups.list'`,
          '',
        ].join('\n'),
      )
    }
  } catch (err) {
    await backends.close().catch(() => {})
    throw err
  }
}

main().catch((err: unknown) => {
  console.error(`cruddur-messages: ${describeFailure(err)}`)
  process.exit(1)
})
