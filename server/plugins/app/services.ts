// What the routes call: token verification, the cached read path, the conversations service and the
// real-time hub, built on the stores, the cache and the bus.
import fp from 'fastify-plugin'
import { type AccessTokenVerifier, createAccessTokenVerifier } from '../../auth/verifier.js'
import { type CachedReads, cachedReads } from '../../cache/cached-reads.js'
import type { Config } from '../../config.js'
import { createConversationsStore } from '../../data/conversations-store.js'
import { WRITE_WINDOW_MS } from '../../data/message-writer.js'
import { createUsersRepository } from '../../data/users-repository.js'
import { channels } from '../../realtime/channels.js'
import { createRealtime, type Realtime } from '../../realtime/hub.js'
import { type ConversationsService, createConversationsService } from '../../services/conversations-service.js'
import { deadlined } from '../../lib/deadline.js'
import { directReads } from '../../services/reads.js'

export interface Services {
  verifier: AccessTokenVerifier
  reads: CachedReads
  conversations: ConversationsService
  realtime: Realtime
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services
  }
}

/** A place is waited for twice its write window, and a little more, before it is passed. */
const gapSkipMs = (writeWindowMs: number) => 2 * writeWindowMs + Math.min(2_000, writeWindowMs)
/** While the bus is down, subscriptions read DynamoDB this often. */
const POLL_MS = 2_000
/** After ending every stream at shutdown, the moment their last bytes need to leave. */
const STREAMS_FLUSH_MS = 100

export interface ServicesOptions {
  config: Config
  /** How long a reserved place waits for its message; tests shorten it. */
  writeWindowMs?: number | undefined
  /** The clock of the read path's in-process memos (Date.now). */
  now?: (() => number) | undefined
}

export default fp<ServicesOptions>(
  async (app, { config, writeWindowMs = WRITE_WINDOW_MS, now }) => {
    const store = createConversationsStore(app.backends.ddb, config.table, { writeWindowMs })
    // Every PostgreSQL call under a deadline: a database that stopped answering costs a 503, not a hang.
    const users = deadlined('PostgreSQL', config.deadlines.postgresMs, createUsersRepository(app.backends.sql))
    const reads = cachedReads(directReads(users, store), app.cache, app.metrics, now ? { now } : {})
    const realtime = createRealtime({
      bus: app.bus,
      store,
      metrics: app.metrics,
      channels: channels(config.cacheKeyPrefix),
      ...config.subscriptions,
      gapSkipMs: gapSkipMs(writeWindowMs),
      pollMs: POLL_MS,
    })
    const conversations = createConversationsService({
      reads,
      store,
      async onMessagePosted(posted, sender, recipient, acknowledgedAt) {
        // Caches first: a subscriber that reads a list after the ring must find the message there.
        await reads.messagePosted(posted.groupUuid, [sender.uuid, recipient.uuid])
        await realtime.published(posted, sender, recipient, acknowledgedAt)
      },
    })
    const verifier = await createAccessTokenVerifier(config)
    // Streams end before the server stops accepting: their clients reconnect (to another instance)
    // and resume. Ended with a moment to flush, they leave idle sockets that closing can drop.
    app.addHook('preClose', async () => {
      realtime.endAll()
      await new Promise((resolve) => setTimeout(resolve, STREAMS_FLUSH_MS))
      realtime.dropRemaining()
    })
    app.decorate('services', { verifier, reads, conversations, realtime })
  },
  { name: 'services', dependencies: ['backends', 'cache', 'metrics', 'bus'] },
)
