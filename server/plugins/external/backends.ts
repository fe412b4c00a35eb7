// The data stores: opened from the configuration (or embedded stand-ins in development), made ready
// for this version (migrations, the table on a local DynamoDB, seeds on embedded stores), and closed
// when the app closes.
import fp from 'fastify-plugin'
import { type Backends, openBackends } from '../../backends.js'
import type { Config } from '../../config.js'
import { createConversationsStore } from '../../data/conversations-store.js'
import { migrate } from '../../data/migrate.js'
import { seedConversation, seedUsers } from '../../data/seed.js'
import { createTable } from '../../data/table.js'
import { createUsersRepository } from '../../data/users-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    backends: Backends
  }
}

export interface BackendsOptions {
  config: Config
  /** Publish embedded stores for commands run beside the server (npm start does). */
  shareEmbedded?: boolean
}

export default fp<BackendsOptions>(
  async (app, { config, shareEmbedded }) => {
    const backends = await openBackends(config, { share: shareEmbedded ?? false })
    app.addHook('onClose', () => backends.close())
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
    app.decorate('backends', backends)
  },
  { name: 'backends' },
)
