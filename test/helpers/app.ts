// The app on real backends, listening on a free port, with a signing key the test holds.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { type AccessTokenClaims, signAccessToken } from '../../server/auth/access-token.js'
import { generateKeyPair, type KeyPair } from '../../server/auth/keys.js'
import { createAccessTokenVerifier } from '../../server/auth/verifier.js'
import { buildApp } from '../../server/app.js'
import { type TestBackends, testBackends } from './backends.js'
import type { CacheBackend } from '../../server/cache/cache-backend.js'
import { createCache } from '../../server/cache/create-cache.js'
import type { Config } from '../../server/config.js'
import { createMetrics, type Metrics } from '../../server/metrics.js'

export const TEST_POOL = 'us-east-1_TestPool1'
export const TEST_CLIENT = 'test-client-id'

export interface TestApp {
  app: FastifyInstance
  url: string
  backends: TestBackends
  key: KeyPair
  jwksFile: string
  cache: CacheBackend
  metrics: Metrics
  /** A valid access token for a seeded (or added) user, by handle; claims override the defaults. */
  token(handle: string, claims?: Partial<AccessTokenClaims>): Promise<string>
  /** Fetch a path of the server with an optional bearer token. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<{ status: number; headers: Headers; body: any }>
}

export async function writeJwks(key: KeyPair): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cm-jwks-'))
  const file = join(dir, 'jwks.json')
  await writeFile(file, JSON.stringify(key.jwks))
  return file
}

export interface TestAppOptions {
  backends?: TestBackends
  /** Redis for the cache (one node or cluster seeds); in-process when unset. */
  redis?: Config['redis']
  /** Key prefix: give instances that should share entries the same one. */
  cachePrefix?: string
  redisCommandTimeoutMs?: number
  logger?: import('fastify').FastifyServerOptions['logger']
  fastPath?: boolean
  /** The signing key: share one between instances that must accept the same tokens. */
  key?: KeyPair
}

export async function testApp(t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const backends = options.backends ?? (await testBackends(t))
  const key = options.key ?? generateKeyPair()
  const jwksFile = await writeJwks(key)
  const verifier = await createAccessTokenVerifier({
    cognito: { userPoolId: TEST_POOL, clientId: TEST_CLIENT, jwksFile, dev: false },
    dataDir: '.data',
  })
  const metrics = createMetrics()
  let cache: CacheBackend | undefined
  const app = await buildApp({
    config: { table: backends.table, bodyLimitBytes: 16 * 1024, cacheTtlSeconds: 3600 },
    sql: backends.sql,
    ddb: backends.ddb,
    verifier,
    metrics,
    logger: options.logger ?? false,
    ...(options.fastPath === undefined ? {} : { fastPath: options.fastPath }),
    cache: (log) =>
      (cache = createCache(
        {
          redis: options.redis ?? { kind: 'memory' },
          redisCommandTimeoutMs: options.redisCommandTimeoutMs ?? 100,
          cacheTtlSeconds: 3600,
          cacheKeyPrefix: options.cachePrefix ?? `test-${Math.random().toString(36).slice(2)}`,
        },
        { log, metrics },
      )),
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  // A Redis cache starts degraded until its connection is ready.
  for (let i = 0; options.redis && options.redis.kind !== 'memory' && cache?.status() !== 'up' && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
  t.teardown(async () => {
    await app.close()
    await cache?.close()
  })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return {
    app,
    url,
    backends,
    key,
    jwksFile,
    cache: cache!,
    metrics,
    async token(handle, claims = {}) {
      const user = await backends.users.findByHandle(handle)
      if (!user?.cognitoUserId) throw new Error(`no cognito user id for ${handle}`)
      return signAccessToken(key, { sub: user.cognitoUserId, userPoolId: TEST_POOL, clientId: TEST_CLIENT, ...claims })
    },
    async call(path, init = {}) {
      const { token, ...rest } = init
      const headers = new Headers(rest.headers)
      if (token) headers.set('authorization', `Bearer ${token}`)
      const res = await fetch(url + path, { ...rest, headers })
      const text = await res.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body }
    },
  }
}
