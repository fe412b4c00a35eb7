// The Redis cache backend. Entities are hashes (one field per page variant); leases live in a
// sibling hash of the same cluster slot; every value carries the epoch it was filled in.
//
// When Redis fails (down, slow past the command timeout, restarting) the backend degrades: reads go
// to DynamoDB, nothing is cached, and a probe waits for Redis. On recovery it bumps the epoch before
// serving again, retiring every entry from before the outage: entries restored by a restart, or
// missed by invalidations that failed meanwhile, can never hide a write made during it.
//
// The instance keeps the epoch it last saw and re-reads it, in the same round trip as a lookup, at
// most EPOCH_REFRESH_MS after the last read: a hit then costs one Redis command, and a bump made by
// another instance (after its own failed invalidation) is seen within that time.
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Metrics } from '../metrics.js'
import { type CacheBackend, type EntryRef, FORMAT_VERSION, type Lookup, MAX_FIELDS_PER_ENTITY } from './cache-backend.js'
import type { RedisClient } from './redis-client.js'

// KEYS: lease hash, data hash. ARGV: field, token, lease ms. Takes the lease unless a live one exists.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local expires = tonumber(string.match(cur, '|(%d+)$'))
  if expires and expires > now then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. (now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1`

// KEYS: lease hash, data hash. ARGV: field, token, value, ttl seconds, max fields. Stores only under
// our lease: an invalidation since acquire deleted the lease hash, and the fill is refused (0). An
// entity already holding its maximum of other fields is left as it is (2: the lease was intact).
const FILL = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or string.sub(cur, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
return 1`

// KEYS: lease hash. ARGV: field, token. Drops the lease if it is still ours.
const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`

const FAILURES_TO_DEGRADE = 3
const EPOCH_REFRESH_MS = 50
/** `|`: ends a value's epoch tag. */
const TAG_END = 0x7c

type Scripted = RedisClient & {
  cacheRelease(lease: string, field: string, token: string): Promise<number>
  cacheAcquire(lease: string, data: string, field: string, token: string, leaseMs: number): Promise<number>
  cacheFill(lease: string, data: string, field: string, token: string, value: string, ttl: number, maxFields: number): Promise<number>
}

/** Where the cache reports that it degraded and recovered (a Fastify logger in the server). */
export type CacheLog = Pick<FastifyBaseLogger, 'warn' | 'info'>

export interface RedisCacheOptions {
  client: RedisClient
  prefix: string
  ttlSeconds: number
  leaseMs?: number
  /** How often a degraded cache checks whether Redis is back. */
  probeMs?: number
  log: CacheLog
  metrics: Metrics
}

export function createRedisCache(options: RedisCacheOptions): CacheBackend {
  const { log, metrics } = options
  const leaseMs = options.leaseMs ?? 1000
  const client = options.client as Scripted
  client.defineCommand('cacheAcquire', { numberOfKeys: 2, lua: ACQUIRE })
  client.defineCommand('cacheFill', { numberOfKeys: 2, lua: FILL })
  client.defineCommand('cacheRelease', { numberOfKeys: 1, lua: RELEASE })

  const base = `${options.prefix}:${FORMAT_VERSION}:`
  const dataKey = (entity: string) => base + entity
  const leaseKey = (entity: string) => `${base}${entity}:lease`
  const epochKey = `${base}epoch`

  let usable = false
  let connectedOnce = false
  /** The epoch as last read from Redis (or set by our own bump), and when. */
  let epoch = '0'
  let epochReadAt = 0
  /** Counts recoveries: an epoch read sent before one must not overwrite the epoch it set. */
  let generation = 0
  /** Consecutive failed or timed-out reads: one slow answer on a busy machine is no outage. */
  let failures = 0
  /** A write this instance could not invalidate: the next recovery must bump the epoch. */
  let missedInvalidation = false
  let degradedSince: number | undefined
  let probe: NodeJS.Timeout | undefined
  let recovering: Promise<void> | undefined
  let closed = false
  // Read through a call after an await: close() may have run meanwhile, which narrowing cannot see.
  const isClosed = () => closed
  metrics.redisUp.set(0)

  function degrade(reason: string) {
    metrics.redisUp.set(0)
    usable = false
    if (closed) return // our own close(): no outage to report, nothing to probe
    if (degradedSince === undefined && connectedOnce) {
      degradedSince = Date.now()
      log.warn({ reason }, 'cache degraded: Redis unavailable, reading from DynamoDB')
    }
    if (!probe) probe = setInterval(() => void recover(), options.probeMs ?? 250).unref()
  }

  function recover(): Promise<void> {
    // The reset must come from .finally(), which always runs after this assignment: an async
    // function's own `finally` runs synchronously on an early return, before `??=` stores the
    // promise, which would leave a settled promise here and stop every later recovery.
    recovering ??= (async () => {
      try {
        if (client.status !== 'ready' || closed) return
        await client.ping()
        // After any outage, retire everything cached before it (see the header comment).
        // Again if an invalidation was skipped while this bump was on its way.
        let bump = connectedOnce || missedInvalidation
        let current: string | null = null
        while (bump) {
          missedInvalidation = false
          current = String(await client.incr(epochKey))
          bump = missedInvalidation
        }
        current ??= await client.get(epochKey)
        generation++
        epoch = current ?? '0'
        epochReadAt = Date.now()
        if (isClosed()) return
        failures = 0
        usable = true
        metrics.redisUp.set(1)
        if (probe) clearInterval(probe)
        probe = undefined
        if (degradedSince !== undefined) log.info({ degradedMs: Date.now() - degradedSince }, 'cache recovered: Redis back in use')
        degradedSince = undefined
        connectedOnce = true
      } catch {
        metrics.redisErrors.inc()
        missedInvalidation = true // a bump may not have happened: make the next recovery bump
      }
    })().finally(() => {
      recovering = undefined
    })
    return recovering
  }

  client.on('ready', () => void recover())
  client.on('close', () => degrade('connection closed'))
  client.on('error', () => {
    // ioredis reports connection errors here; 'close' and the probe handle the state.
  })

  /** A read-side command answered: the failure streak ends. */
  const succeeded = <T>(result: T): T => {
    failures = 0
    return result
  }
  /** A read-side command failed: a few in a row degrade the cache, so a slow Redis costs at most that many timeouts. */
  const failed = (err: unknown): undefined => {
    metrics.redisErrors.inc()
    if (++failures >= FAILURES_TO_DEGRADE) degrade((err as Error).message)
    return undefined
  }

  /** Runs a read-side command; a failure yields undefined (the caller reads the source). */
  async function guarded<T>(run: () => Promise<T>): Promise<T | undefined> {
    if (!usable) return undefined
    try {
      return succeeded(await run())
    } catch (err) {
      failed(err)
      return undefined
    }
  }

  /** Whether this lookup should re-read the epoch too (one refresh in flight at a time). */
  function epochDue(): boolean {
    const now = Date.now()
    if (now - epochReadAt < EPOCH_REFRESH_MS) return false
    epochReadAt = now
    return true
  }

  /** Whether a value of epoch `tag` may be used. One filled under a newer epoch than ours was read by another instance already: so do we. */
  function current(tag: string): boolean {
    if (tag === epoch) return true
    if (Number(tag) > Number(epoch)) {
      epoch = tag
      return true
    }
    return false
  }

  async function lookup({ entity, field }: EntryRef, refresh = epochDue()): Promise<Lookup | null> {
    const sentIn = generation
    const got = await guarded<string | null | [string | null, string | null]>(() =>
      refresh ? Promise.all([client.hget(dataKey(entity), field), client.get(epochKey)]) : client.hget(dataKey(entity), field),
    )
    if (got === undefined) return null
    let value: string | null
    if (Array.isArray(got)) {
      value = got[0]
      if (sentIn === generation) epoch = got[1] ?? '0'
    } else value = got
    if (value === null) return { miss: epoch }
    const bar = value.indexOf('|')
    return current(value.slice(0, bar)) ? { hit: value.slice(bar + 1) } : { miss: epoch }
  }

  /** A stored value's bytes after its tag, if the tag is current: sent as they are, never decoded. */
  const bytesOf = (answer: Buffer | null): Buffer | undefined => {
    const value = succeeded(answer)
    if (value === null) return undefined
    const bar = value.indexOf(TAG_END)
    return bar > 0 && current(value.toString('latin1', 0, bar)) ? value.subarray(bar + 1) : undefined
  }

  return {
    kind: 'redis',
    lookup: (ref) => lookup(ref),
    hitBytes(ref) {
      if (!usable) return undefined
      // Every EPOCH_REFRESH_MS, the lookup that re-reads the epoch (and decodes); otherwise one HGET
      // of bytes, with no await between it and the answer.
      if (epochDue()) {
        return lookup(ref, true).then((seen) => (seen && 'hit' in seen ? Buffer.from(seen.hit) : undefined))
      }
      return client.hgetBuffer(dataKey(ref.entity), ref.field).then(bytesOf, failed)
    },
    async acquire({ entity, field }) {
      const token = randomBytes(8).toString('hex')
      const got = await guarded(() => client.cacheAcquire(leaseKey(entity), dataKey(entity), field, token, leaseMs))
      return got === undefined ? null : got === 1 ? token : false
    },
    async fill({ entity, field }, token, epoch, value) {
      const got = await guarded(() =>
        client.cacheFill(leaseKey(entity), dataKey(entity), field, token, `${epoch}|${value}`, options.ttlSeconds, MAX_FIELDS_PER_ENTITY),
      )
      return got === 1 || got === 2
    },
    async release({ entity, field }, token) {
      await guarded(() => client.cacheRelease(leaseKey(entity), field, token))
    },
    async invalidate(entities) {
      // Sent even while this instance is degraded: other instances may still be reading from Redis
      // (one timed-out command degrades only this one), so a drop that can reach Redis must. Without
      // a connection it fails at once (no offline queue). If it fails, the cache degrades, and
      // recovery bumps the epoch: nothing stale survives.
      try {
        await Promise.all(entities.map((e) => client.del(dataKey(e), leaseKey(e))))
      } catch (err) {
        missedInvalidation = true
        metrics.redisErrors.inc()
        degrade((err as Error).message)
      }
    },
    status: () => (usable ? 'up' : 'degraded'),
    async close() {
      closed = true
      if (probe) clearInterval(probe)
      await client.quit().catch(() => client.disconnect())
    },
  }
}
