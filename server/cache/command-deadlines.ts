// Each Redis command's deadline, kept by one timer per client instead of one per command. ioredis's
// `commandTimeout` arms a timer for every command and deletes a property of the command at its reply
// (a slow path in V8): at 10 connections that cost a cache hit about 8 % of its CPU (an A/B run in
// docs/benchmark.md). Here a check every tenth of the timeout walks each connection's reply queue
// (ioredis's `commandQueue`: the commands written, in the order their replies will come), stamps the
// commands it has not seen and rejects those it first saw a timeout ago, with ioredis's own "Command
// timed out", as its timer would: the reply, when it comes, finds the command settled. A command is
// rejected between `timeoutMs` and `timeoutMs` plus one check after it was written.
import { Cluster, type Redis } from 'ioredis'

/** What a command in the reply queue says of itself (ioredis's CommandItem). */
interface Queued {
  command: { reject(err: Error): void }
}

/** Stamp of a command already rejected. */
const REJECTED = -1

/** The check of one client; it stops by itself when the client ends. */
export interface CommandDeadlines {
  readonly active: boolean
}

export function keepCommandDeadlines(client: Redis | Cluster, timeoutMs: number): CommandDeadlines {
  const firstSeen = new WeakMap<Queued, number>()
  // A cluster's node connections change with its topology: asked each time.
  const connections = (): Redis[] => (client instanceof Cluster ? client.nodes('all') : [client])

  function check(connection: Redis, now: number): void {
    const queue = connection.commandQueue
    const n = queue.length
    if (n === 0) return
    // New commands are at the back: stamped back to front, up to the first one stamped before.
    for (let i = n - 1; i >= 0; i--) {
      const item = queue.peekAt(i)!
      if (firstSeen.has(item)) break
      firstSeen.set(item, now)
    }
    // The oldest are at the front: rejected up to the first one still within its time.
    for (let i = 0; i < n; i++) {
      const item = queue.peekAt(i)!
      const seen = firstSeen.get(item)!
      if (seen === REJECTED) continue
      if (now - seen < timeoutMs) break
      firstSeen.set(item, REJECTED)
      item.command.reject(new Error('Command timed out'))
    }
  }

  const timer = setInterval(() => {
    const now = performance.now()
    for (const connection of connections()) check(connection, now)
  }, Math.max(1, Math.floor(timeoutMs / 10)))
  timer.unref()
  let active = true
  client.once('end', () => {
    clearInterval(timer)
    active = false
  })
  return {
    get active() {
      return active
    },
  }
}
