// Embedded PostgreSQL (PGlite, WASM) behind its wire-protocol socket server: the zero-setup default.
import type { AddressInfo } from 'node:net'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedPostgres {
  url: string
  close(): Promise<void>
}

/** PGlite serves one backend: clients must use a single connection (postgres.js `max: 1`). */
export async function startPglite(options: { dataDir?: string } = {}): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {})
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 4 })
  await server.start()
  const internal = server as unknown as { server?: { address(): AddressInfo | string | null } }
  const address = internal.server?.address()
  if (!address || typeof address === 'string') throw new Error('embedded PostgreSQL did not open a TCP port')
  return {
    url: `postgres://postgres@127.0.0.1:${address.port}/postgres`,
    async close() {
      await server.stop()
      await db.close()
    },
  }
}
