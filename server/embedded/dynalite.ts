// dynalite: a real DynamoDB-API server, in memory or on disk, started by the code that needs it.
import type { AddressInfo } from 'node:net'
import dynalite from 'dynalite'

export interface EmbeddedDynamo {
  endpoint: string
  close(): Promise<void>
}

/** Starts dynalite on a free port of 127.0.0.1 (in memory unless `path` is given). */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<EmbeddedDynamo> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
