// The server on real backends, listening on a free port, with a signing key the test holds. Built
// with createServer from a configuration, exactly as main.ts builds it.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { type AccessTokenClaims, signAccessToken } from '../../server/auth/access-token.js'
import { generateKeyPair, type KeyPair } from '../../server/auth/keys.js'
import type { CacheBackend } from '../../server/cache/cache-backend.js'
import { type Config, loadConfig } from '../../server/config.js'
import type { Metrics } from '../../server/metrics.js'
import { createServer, type Server } from '../../server/server.js'
import { type TestBackends, testBackends } from './backends.js'

export const TEST_POOL = 'us-east-1_TestPool1'
export const TEST_CLIENT = 'test-client-id'

export interface TestApp {
  app: FastifyInstance
  server: Server
  url: string
  config: Config
  backends: TestBackends
  key: KeyPair
  jwksFile: string
  cache: CacheBackend
  metrics: Metrics
  /** A valid access token for a seeded (or added) user, by handle; claims override the defaults. */
  token(handle: string, claims?: Partial<AccessTokenClaims>): Promise<string>
  /** Fetch a path of the server with an optional bearer token. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<{ status: number; headers: Headers; body: unknown }>
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
  logger?: FastifyServerOptions['logger']
  fastPath?: boolean
  /** Serve subscriptions through tRPC's adapter only (to compare with the SSE path). */
  ssePath?: boolean
  /** The signing key: share one between instances that must accept the same tokens. */
  key?: KeyPair
  /** Wraps the cache backend (to slow or count it). */
  wrapCache?: (cache: CacheBackend) => CacheBackend
  /** How long a reserved place waits for its message (shortened to test what happens after). */
  writeWindowMs?: number
  /** The built web app to serve (test/helpers/browser.ts builds one per test file). */
  webRoot?: string
  /** Further configuration variables (they win over the ones derived from the options above). */
  env?: Record<string, string>
  /** The clock of the server's in-process memos (to run them out without waiting). */
  now?: () => number
}

/** The configuration variables of a cache setting. */
function redisEnv(redis: Config['redis'] | undefined): Record<string, string> {
  switch (redis?.kind) {
    case 'single':
      return { REDIS_URL: redis.url }
    case 'cluster':
      return { REDIS_CLUSTER_NODES: redis.nodes.map((n) => `${n.host}:${n.port}`).join(',') }
    case 'off':
      return { CACHE_MODE: 'off' }
    default:
      return {}
  }
}

export async function testApp(t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const backends = options.backends ?? (await testBackends(t))
  const key = options.key ?? generateKeyPair()
  const jwksFile = await writeJwks(key)
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_URL: backends.databaseUrl,
    AWS_ENDPOINT_URL_DYNAMODB: backends.dynamoEndpoint,
    DDB_MESSAGE_TABLE: backends.table,
    COGNITO_USER_POOL_ID: TEST_POOL,
    COGNITO_CLIENT_ID: TEST_CLIENT,
    COGNITO_JWKS_FILE: jwksFile,
    CACHE_KEY_PREFIX: options.cachePrefix ?? `test-${Math.random().toString(36).slice(2)}`,
    REDIS_COMMAND_TIMEOUT_MS: String(options.redisCommandTimeoutMs ?? 100),
    ...redisEnv(options.redis),
    ...options.env,
  })
  const server = await createServer(config, {
    logger: options.logger ?? false,
    ...(options.fastPath === undefined ? {} : { fastPath: options.fastPath }),
    ...(options.ssePath === undefined ? {} : { ssePath: options.ssePath }),
    ...(options.wrapCache ? { wrapCache: options.wrapCache } : {}),
    ...(options.writeWindowMs ? { writeWindowMs: options.writeWindowMs } : {}),
    ...(options.webRoot ? { webRoot: options.webRoot } : {}),
    ...(options.now ? { now: options.now } : {}),
  })
  t.teardown(() => server.stop())
  const url = await server.start()
  const app = server.app
  // A Redis cache starts degraded until its connection is ready.
  for (let i = 0; config.redis.kind !== 'memory' && config.redis.kind !== 'off' && app.cache.status() !== 'up' && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    app,
    server,
    url,
    config,
    backends,
    key,
    jwksFile,
    cache: app.cache,
    metrics: app.metrics,
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
