// What the routes call: token verification, the cached read path and the conversations service,
// built on the stores and the cache.
import fp from 'fastify-plugin'
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../../auth/verifier.js'
import { type CachedReads, cachedReads } from '../../cache/cached-reads.js'
import type { Config } from '../../config.js'
import { createConversationsStore } from '../../data/conversations-store.js'
import { createUsersRepository } from '../../data/users-repository.js'
import { type ConversationsService, createConversationsService } from '../../services/conversations-service.js'
import { directReads } from '../../services/reads.js'

export interface Services {
  verifier: AccessTokenVerifier
  reads: CachedReads
  conversations: ConversationsService
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const store = createConversationsStore(app.backends.ddb, config.table)
    const users = createUsersRepository(app.backends.sql)
    const reads = cachedReads(directReads(users, store), app.cache, app.metrics)
    const conversations = createConversationsService({ reads, store, onMessagePosted: reads.messagePosted })
    const verifier = await createAccessTokenVerifier(config)
    app.decorate('services', { verifier, reads, conversations })
  },
  { name: 'services', dependencies: ['backends', 'cache', 'metrics'] },
)
