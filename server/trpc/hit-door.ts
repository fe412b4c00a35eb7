// The API's front door (server/lib/front-door.ts): a GET cache hit by a caller known moments ago,
// answered before Fastify routes it, with the checks the API scope makes inside Fastify and the bytes
// and headers of the fast path there (fast-path.ts; test/server/trpc/fast-path.test.ts compares them
// with the adapter's). Anything else goes to Fastify untouched and is answered as ever: a request
// with an Origin (CORS), a body, a streaming accept, an unknown or unusual token or path, a batch over
// the cap, an overloaded instance, a client or caller at their rate limit, a miss, a failure. Shutting
// down shuts the door (server.ts). A request handed to Fastify is counted for the rate limits there,
// once: the door uncounts what it counted first.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { AccessTokenVerifier, VerifiedToken } from '../auth/verifier.js'
import type { AddressOf } from '../lib/client-address.js'
import { boundedMap } from '../lib/bounded-map.js'
import type { Door, RequestHandler } from '../lib/front-door.js'
import { memoQuerystringParser } from '../lib/querystring-memo.js'
import type { RateLimits } from '../limits/rate-limits.js'
import type { FastPath, Plan, Target } from './fast-path.js'
import { API_HEADERS, HIT_HEADERS } from './headers.js'

/** Procedure paths as clients send them: names, comma-joined in a batch; nothing to decode. */
const PROCEDURE_PATH = /^[\w.]+(?:,[\w.]+)*$/

const NO_QUERY: Record<string, unknown> = Object.freeze({})

// Targets by request URL: clients send the same few URLs over and over (a user's list, a
// conversation's first page), and one lookup of the URL replaces splitting it, the query string's
// memo, the route's and the input's. Bounded; long URLs are not kept.
const MAX_KEPT_URL = 512
const KEPT_URLS = 5_000

/**
 * What the door last saw on a connection: a client sends one token and mostly one URL on it, again
 * and again, and comparing the Authorization header with the last one costs less than slicing, hashing
 * and looking up a kilobyte of token (and the URL) in shared maps. The token's expiry is still checked
 * on every request; a different header or URL takes the full path and replaces what is kept.
 */
interface Seen {
  auth: string
  token: VerifiedToken
  url: string
  target: Target | undefined
  /** The client's address, when it is the connection's own (no trusted proxy); else read per request. */
  address: string | undefined
}

export function hitDoor(deps: {
  /** Where the API is mounted, with its slash: `/trpc/`. */
  prefix: string
  fast: FastPath
  verifier: AccessTokenVerifier
  limits: RateLimits
  /** Whether the instance is overloaded (then Fastify answers 503). */
  overloaded: () => boolean
  addressOf: AddressOf
  maxBatchSize: number
}): Door {
  const { prefix, fast, verifier, limits, overloaded, addressOf, maxBatchSize } = deps
  const parseQuery = memoQuerystringParser()
  const targets = boundedMap<string, Target>(KEPT_URLS)
  const seen = new WeakMap<Socket, Seen>()

  /** What a URL of the API asks, if the fast path takes it (a batch within the cap). */
  function targetOf(url: string): Target | undefined {
    const kept = targets.get(url)
    if (kept) return kept
    const q = url.indexOf('?', prefix.length)
    const path = q === -1 ? url.slice(prefix.length) : url.slice(prefix.length, q)
    if (!PROCEDURE_PATH.test(path)) return undefined
    const t = fast.target(path, q === -1 ? NO_QUERY : parseQuery(url.slice(q + 1)))
    if (!t || t.route.queries.length > maxBatchSize) return undefined
    if (url.length <= MAX_KEPT_URL) targets.set(url, t)
    return t
  }

  function send(res: ServerResponse, body: Buffer): void {
    res.writeHead(200, [
      'cache-control', API_HEADERS['cache-control'],
      'x-content-type-options', API_HEADERS['x-content-type-options'],
      'content-type', HIT_HEADERS['content-type'],
      'vary', HIT_HEADERS.vary,
      'content-length', String(body.length),
    ])
    res.end(body)
  }

  /** Sends the answer, or hands the request to Fastify uncounted (a miss, a failure, a caller not known after all). */
  function finish(req: IncomingMessage, res: ServerResponse, fastify: RequestHandler, target: Target, plan: Plan | undefined, address: string, sub: string, answered: Buffer | undefined): void {
    try {
      if (plan === undefined || answered === undefined) {
        limits.giveBack(address, sub, target.route.queries.length)
        fastify(req, res)
      } else {
        fast.count(plan, 'front_door')
        send(res, fast.body(plan, answered))
      }
    } catch (err) {
      // Not reached in practice (a closed socket ignores writes); never an unhandled rejection.
      res.destroy(err as Error)
    }
  }

  /** Answers from the cache, or hands the request to Fastify (`finish`). */
  function answer(req: IncomingMessage, res: ServerResponse, fastify: RequestHandler, target: Target, plan: Plan | undefined, address: string, sub: string): void {
    if (plan === undefined) {
      finish(req, res, fastify, target, plan, address, sub, undefined)
      return
    }
    fast.answer(plan).then(
      (answered) => {
        finish(req, res, fastify, target, plan, address, sub, answered)
      },
      () => {
        finish(req, res, fastify, target, plan, address, sub, undefined)
      },
    )
  }

  /** The verified, unexpired token of an Authorization header in the usual spelling; else undefined (Fastify reads it, and refuses). */
  function tokenOf(auth: string): VerifiedToken | undefined {
    if (!auth.startsWith('Bearer ') || auth.length <= 7 || auth.indexOf(' ', 7) !== -1) return undefined
    return verifier.known?.(auth.slice(7))
  }

  return function door(req, res, fastify) {
    if (req.method !== 'GET') return false
    const url = req.url
    if (url === undefined || !url.startsWith(prefix)) return false
    const h = req.headers
    if (h.origin !== undefined || h['trpc-accept'] !== undefined || h['content-length'] !== undefined || h['transfer-encoding'] !== undefined) return false
    const auth = h.authorization
    if (auth === undefined) return false
    const socket = req.socket
    let s = seen.get(socket)
    let token: VerifiedToken | undefined
    if (s !== undefined && auth === s.auth) {
      token = s.token.exp * 1000 > Date.now() ? s.token : undefined
    } else {
      token = tokenOf(auth)
      if (token && s !== undefined) {
        s.auth = auth
        s.token = token
      }
    }
    if (!token || overloaded()) return false
    if (s === undefined) {
      s = { auth, token, url, target: targetOf(url), address: addressOf.perConnection ? addressOf(req) : undefined }
      seen.set(socket, s)
    } else if (s.url !== url) {
      s.url = url
      s.target = targetOf(url)
    }
    const target = s.target
    const planned = target && fast.plan(target, token.sub)
    if (!planned) return false
    const address = s.address ?? addressOf(req)
    const sub = token.sub
    // Counted as Fastify would count it; a client or caller at a limit goes to Fastify, which counts
    // the request and refuses it, without a cache read here. A miss is uncounted before it goes.
    if (address === undefined || !limits.admit(address, sub, target.route.queries.length)) return false
    // A caller whose memo ran out is read again first (once for all their requests meanwhile).
    if ('then' in planned) void planned.then((plan) => answer(req, res, fastify, target, plan, address, sub))
    else answer(req, res, fastify, target, planned, address, sub)
    return true
  }
}
