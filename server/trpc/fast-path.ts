// Answers GET queries (single and batched) that are cache hits without tRPC's Fetch Request/Response
// round trip, which costs about 0.5 ms of CPU per request on Node 20: the cached JSON is sent as it is
// stored, byte for byte what the adapter would send. Anything else (a miss, an error, an unusual
// request) returns false and the request takes the tRPC path, which reads, fills and answers as always. test/server/trpc/fast-path.test.ts compares both.
import type { UserShort } from '@cruddur/contracts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CacheHits, CachedReads, Kind } from '../cache/cached-reads.js'
import type { Metrics } from '../metrics.js'
import { authenticate, type ContextDeps } from './context.js'
import { queries } from './queries.js'

/** The `data` JSON of one call from the cache, or undefined to leave the request to tRPC. */
type Answer = (caller: UserShort, input: unknown, hits: CacheHits, tally: Kind[]) => Promise<string | undefined> | string | undefined

/** Each query's hit path, behind its own input schema (a call the schema refuses goes to tRPC, which refuses it). */
const answers = new Map<string, Answer>(
  Object.entries(queries).map(([path, q]): [string, Answer] => [
    path,
    (caller, input, hits, tally) => {
      if (!q.input) return q.hit(caller)
      const parsed = q.input.safeParse(input)
      return parsed.success ? (q.hit as Answer)(caller, parsed.data, hits, tally) : undefined
    },
  ]),
)

const ok = (data: string) => `{"result":{"data":${data}}}`

export function fastPath(deps: Pick<ContextDeps, 'verifier' | 'metrics'> & { reads: CachedReads; metrics: Metrics }) {
  return async function tryFastPath(req: FastifyRequest<{ Params: { path: string } }>, reply: FastifyReply): Promise<boolean> {
    // Streaming responses (trpc-accept) and anything but GET queries stay with the adapter.
    if (req.method !== 'GET' || req.headers['trpc-accept'] !== undefined) return false
    const query = req.query as Record<string, unknown>
    let batch = false
    for (const key in query) {
      if (key !== 'batch' && key !== 'input') return false
    }
    // As the adapter reads it: only `batch=1` is a batch; any other value is left to the adapter.
    if (query.batch !== undefined) {
      if (query.batch !== '1') return false
      batch = true
    }
    const paths = batch ? req.params.path.split(',') : [req.params.path]
    if (!paths.every((p) => answers.has(p))) return false

    const started = performance.now()
    if (query.input !== undefined && typeof query.input !== 'string') return false
    let inputs: unknown
    try {
      inputs = query.input === undefined ? undefined : JSON.parse(query.input)
    } catch {
      return false
    }
    if (batch && inputs !== undefined && (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))) return false

    try {
      const header = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined
      // A token seen before, of a user looked up moments ago: known without waiting on anything.
      const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined
      const sub = token && deps.verifier.known?.(token)?.sub
      const caller = (sub && deps.reads.knownUser(sub)) || (await authenticate(deps, header))
      const input = (i: number) => (batch ? (inputs as Record<string, unknown> | undefined)?.[String(i)] : inputs)
      const tally: Kind[] = []
      const data =
        paths.length === 1
          ? [await answers.get(paths[0]!)!(caller, input(0), deps.reads.hits, tally)]
          : await Promise.all(paths.map(async (path, i) => answers.get(path)!(caller, input(i), deps.reads.hits, tally)))
      if (data.some((d) => d === undefined)) return false
      deps.reads.hits.count(tally)
      const seconds = (performance.now() - started) / 1000
      deps.metrics.fastPathAnswers.inc()
      for (const path of paths) deps.metrics.observeCall(path, 'OK', seconds)
      reply
        .code(200)
        .header('content-type', 'application/json')
        .header('vary', 'trpc-accept, accept')
        // Bytes, so Fastify sends the content type as set (no charset added), as the adapter does.
        .send(Buffer.from(batch ? `[${(data as string[]).map(ok).join(',')}]` : ok(data[0]!)))
      return true
    } catch {
      // Unauthorized, a bad cursor, a store failure: the adapter answers, with its own error shape.
      return false
    }
  }
}
