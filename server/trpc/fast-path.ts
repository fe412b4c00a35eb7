// Answers GET queries (single and batched) that are cache hits without tRPC's Fetch Request/Response
// round trip, which costs about 0.5 ms of CPU per request on Node 20: a hit's bytes are stored as the
// adapter's answer and sent as Redis returns them. Anything else (a miss, an error, an unusual
// request, a caller not looked up moments ago) returns false and the request takes the tRPC path,
// which reads, fills and answers as always. test/server/trpc/fast-path.test.ts compares both.
import type { UserShort } from '@cruddur/contracts'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CacheHits, CachedReads, HitBytes, Kind } from '../cache/cached-reads.js'
import { boundedMap } from '../lib/bounded-map.js'
import type { FastPathVia, Metrics } from '../metrics.js'
import { HIT_HEADERS } from './headers.js'
import { queries } from './queries.js'

/** One call's answer from the cache, or undefined to leave the request to tRPC. */
type Answer = (caller: UserShort, input: unknown, hits: CacheHits, tally: Kind[]) => HitBytes | Buffer

/** A query's hit path and its input as its schema parses it (a call the schema refuses goes to tRPC, which refuses it). */
interface FastQuery {
  answer: Answer
  /** The parsed input of an input as sent (JSON text), or undefined if the schema refuses it. */
  parse(json: unknown): { input: unknown } | undefined
}

const NO_INPUT = { input: undefined }

const fastQueries = new Map<string, FastQuery>(
  Object.entries(queries).map(([path, q]): [string, FastQuery] => [
    path,
    {
      answer: q.hit as Answer,
      parse(json) {
        if (!q.input) return NO_INPUT // tRPC ignores whatever is sent; so does the fast path
        const parsed = q.input.safeParse(json)
        return parsed.success ? { input: parsed.data } : undefined
      },
    },
  ]),
)

/**
 * A request path's queries, and the parsed inputs of its recent requests by input text: clients send
 * the same few requests over and over (a user's list, a conversation's first page), and a Map lookup
 * is cheaper than JSON.parse and the schemas. Only short inputs that every schema accepted are kept,
 * frozen, as every request sending the same text shares them.
 */
interface Route {
  batch: boolean
  /** A batch of one call (what a client's batch link sends when one query was asked): its answer is that call's bytes, framed by `body`. */
  one: boolean
  /** Counts and times each call by its procedure (bound once per route, as this runs per answer). */
  observers: ((seconds: number) => void)[]
  queries: FastQuery[]
  inputs: Map<string, readonly unknown[]>
  /** The parsed inputs of a request without `input`. */
  none?: readonly unknown[]
}

const MAX_MEMO_INPUT = 256
// Bounds on what a client can make this keep: each query's 1,000 most recent inputs, and 200 for each
// of the 50 most recent batch paths (about 14,000 entries of at most 256 characters in all).
const MEMO_PER_QUERY = 1_000
const MEMO_PER_BATCH = 200

/** Each call's parsed input (tRPC's reading of `input`), or undefined to leave the request to the adapter. */
function inputsOf(r: Route, text: string | undefined): readonly unknown[] | undefined {
  const memo = text === undefined ? r.none : r.inputs.get(text)
  if (memo) return memo
  let json: unknown
  try {
    json = text === undefined ? undefined : JSON.parse(text)
  } catch {
    return undefined
  }
  // A batch's input is one object of inputs by index.
  if (r.batch && json !== undefined && (typeof json !== 'object' || json === null || Array.isArray(json))) return undefined
  const inputs: unknown[] = []
  for (let i = 0; i < r.queries.length; i++) {
    const parsed = r.queries[i]!.parse(r.batch ? (json as Record<string, unknown> | undefined)?.[String(i)] : json)
    if (!parsed) return undefined
    inputs.push(typeof parsed.input === 'object' && parsed.input !== null ? Object.freeze(parsed.input) : parsed.input)
  }
  if (text === undefined) r.none = Object.freeze(inputs)
  else if (text.length <= MAX_MEMO_INPUT) r.inputs.set(text, Object.freeze(inputs))
  return inputs
}

const BATCH_OPEN = Buffer.from('[')
const BATCH_COMMA = Buffer.from(',')
const BATCH_CLOSE = Buffer.from(']')

/** What a request asks the fast path: its procedures and their parsed inputs (shared, frozen). */
export interface Target {
  readonly route: Route
  readonly inputs: readonly unknown[]
}

/** A request the fast path takes: what it asks, of whom, since when. */
export interface Plan extends Target {
  caller: UserShort
  started: number
  /** The cache entries its answer hit, counted once it is sent (`count`). */
  tally: Kind[]
}

export type FastPath = ReturnType<typeof fastPath>

export function fastPath(deps: { reads: CachedReads; metrics: Metrics }) {
  const { reads, metrics } = deps

  const route = (batch: boolean, paths: string[], queries: FastQuery[]): Route => ({
    batch,
    one: batch && queries.length === 1,
    observers: paths.map((p) => metrics.callObserver(p, 'OK')),
    queries,
    inputs: boundedMap(batch ? MEMO_PER_BATCH : MEMO_PER_QUERY),
  })
  const singles = new Map<string, Route>([...fastQueries].map(([path, q]) => [path, route(false, [path], [q])]))
  /** Batches by their comma-joined paths, as clients send them (only batches of known queries). */
  const batches = boundedMap<string, Route>(50)

  function routeOf(path: string, batch: boolean): Route | undefined {
    if (!batch) return singles.get(path)
    let r = batches.get(path)
    if (!r) {
      const paths = path.split(',')
      const queries: FastQuery[] = []
      for (const p of paths) {
        const q = fastQueries.get(p)
        if (!q) return undefined
        queries.push(q)
      }
      r = route(true, paths, queries)
      batches.set(path, r)
    }
    return r
  }

  /**
   * The request's answer from hits: one call's stored bytes (a batch of one's too, framed by `body`
   * when it comes: no promise of its own in between), or a batch's joined into tRPC's array.
   */
  function answer(route: Route, inputs: readonly unknown[], caller: UserShort, tally: Kind[]): HitBytes | Buffer {
    const { queries } = route
    return route.batch && !route.one ? joined(queries, inputs, caller, tally) : queries[0]!.answer(caller, inputs[0], reads.hits, tally)
  }

  async function joined(queries: FastQuery[], inputs: readonly unknown[], caller: UserShort, tally: Kind[]): Promise<Buffer | undefined> {
    const pending: (HitBytes | Buffer)[] = []
    for (let i = 0; i < queries.length; i++) pending.push(queries[i]!.answer(caller, inputs[i], reads.hits, tally))
    const parts: Buffer[] = [BATCH_OPEN]
    for (let i = 0; i < pending.length; i++) {
      const part = await pending[i]
      if (!part) return undefined
      if (i > 0) parts.push(BATCH_COMMA)
      parts.push(part)
    }
    parts.push(BATCH_CLOSE)
    return Buffer.concat(parts)
  }

  /**
   * What a GET query asks, from its path (the procedures, comma-joined for a batch) and its parsed query
   * string, whoever asks it; undefined for a request the fast path does not take, which the adapter
   * answers (and refuses where it must).
   */
  function target(path: string, query: Record<string, unknown>): Target | undefined {
    for (const key in query) {
      if (key !== 'batch' && key !== 'input') return undefined
    }
    const text = query.input
    if (text !== undefined && typeof text !== 'string') return undefined
    // As the adapter reads it: only `batch=1` is a batch; any other value is left to the adapter.
    const batch = query.batch !== undefined
    if (batch && query.batch !== '1') return undefined
    const route = routeOf(path, batch)
    const inputs = route && inputsOf(route, text)
    return inputs ? { route, inputs } : undefined
  }

  /**
   * A target asked by a caller (`sub` of a verified, unexpired token) this process knows: at once if
   * looked up moments ago, after reading them again if that ran out (undefined then if the read
   * failed or the sub lost its user); undefined for a caller never seen, whom the adapter looks up
   * (and the memo learns).
   */
  function plan(t: Target, sub: string): Plan | Promise<Plan | undefined> | undefined {
    const started = performance.now()
    const caller = reads.knownUser(sub)
    if (caller === undefined) return undefined
    if (!('then' in caller)) return { route: t.route, inputs: t.inputs, caller, started, tally: [] }
    return caller.then((c) => (c ? { route: t.route, inputs: t.inputs, caller: c, started, tally: [] } : undefined))
  }

  /**
   * A plan's answer from cache hits; undefined (or a rejection) when anything missed or failed: the
   * adapter then answers, in its own shape. Nothing is counted until `count`, as an answer may yet be
   * handed back. Callers take it in one callback (no promise in between) and send `body` of it.
   */
  function answerOf(p: Plan): Promise<Buffer | undefined> {
    try {
      return Promise.resolve(answer(p.route, p.inputs, p.caller, p.tally))
    } catch {
      return Promise.resolve(undefined)
    }
  }

  /** The bytes to send for an answer: a batch of one's call in tRPC's array, one copy and no `Buffer.concat`. */
  function body(p: Plan, answered: Buffer): Buffer {
    if (!p.route.one) return answered
    const framed = Buffer.allocUnsafe(answered.length + 2)
    framed[0] = 0x5b // [
    answered.copy(framed, 1)
    framed[framed.length - 1] = 0x5d // ]
    return framed
  }

  /** Counts an answer being sent: its cache hits, each call by procedure and time, where it was answered. */
  function count(p: Plan, via: FastPathVia): void {
    reads.hits.count(p.tally)
    const seconds = (performance.now() - p.started) / 1000
    metrics.countFastPathAnswer(via)
    for (const observe of p.route.observers) observe(seconds)
  }

  /**
   * Inside Fastify. `sub`: the caller's, when their token is verified and unexpired (else the adapter
   * answers, and refuses). False at once for a request the fast path does not take; else whether it answered.
   */
  function tryFastPath(req: FastifyRequest<{ Params: { path: string } }>, reply: FastifyReply, sub: string | undefined): false | Promise<boolean> {
    // Streaming responses (trpc-accept) and anything but GET queries stay with the adapter.
    if (sub === undefined || req.method !== 'GET' || req.headers['trpc-accept'] !== undefined) return false
    const t = target(req.params.path, req.query as Record<string, unknown>)
    const planned = t && plan(t, sub)
    if (!planned) return false
    return 'then' in planned ? planned.then((p) => p !== undefined && answerIn(reply, p)) : answerIn(reply, planned)
  }

  /** Sends a plan's answer through Fastify; false when it has none (the adapter answers). */
  function answerIn(reply: FastifyReply, p: Plan): Promise<boolean> {
    return answerOf(p).then(
      (answered) => {
        if (!answered) return false
        count(p, 'fastify')
        void reply.code(200).header('content-type', HIT_HEADERS['content-type']).header('vary', HIT_HEADERS.vary).send(body(p, answered))
        return true
      },
      () => false,
    )
  }

  return { target, plan, answer: answerOf, body, count, tryFastPath }
}
