// One socket write per event-loop turn for a Redis connection's commands, without ioredis's
// auto-pipelining. That one builds a Pipeline object for every turn (it copies every command method
// onto it), and at a cache hit's rate its garbage outlives young-generation collections: a bare route
// promoted ~1.3 MB into the old generation per scavenge, with 3.5-ms scavenges and a mark-compact
// every second, a p99 two to four times that of the same route without it (docs/benchmark.md, fourth round).
// Corking the connection's socket until the turn's immediates run gives the same single write (and so
// the same one round trip for concurrent requests) with nothing allocated but the immediate.
import { Cluster, type Redis } from 'ioredis'

const batched = new WeakSet<Redis>()

export function writeOncePerTurn(client: Redis | Cluster): void {
  if (client instanceof Cluster) {
    for (const node of client.nodes('all')) corkEachTurn(node)
    client.on('+node', corkEachTurn) // a cluster's node connections change with its topology
  } else corkEachTurn(client)
}

function corkEachTurn(connection: Redis): void {
  if (batched.has(connection)) return
  batched.add(connection)
  const send = connection.sendCommand.bind(connection)
  let corked: Redis['stream'] | undefined
  const flush = () => {
    const stream = corked!
    corked = undefined
    stream.uncork()
  }
  connection.sendCommand = (command, stream) => {
    // Only the connection's own writes (a Pipeline passes itself as `stream` and writes once anyway).
    if (stream === undefined && corked === undefined && connection.status === 'ready') {
      corked = connection.stream
      corked.cork()
      setImmediate(flush)
    }
    return send(command, stream)
  }
}
