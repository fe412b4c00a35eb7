// The one configuration of the service: the server and every command read it, from the environment
// (with `node --env-file` or the shell). Each variable is declared once, below; the Config type is
// what the schema makes of it. Validated once, at start; a bad value stops with one line.
import { z } from 'zod'

/** The local development pool: accepted only outside production, with the generated dev key. */
export const DEV_USER_POOL_ID = 'us-east-1_CruddurDev'
export const DEV_CLIENT_ID = 'cruddurlocaldevclient'

const port = z.coerce.number().int().min(0).max(65535)
const optionalString = z.string().trim().min(1).optional()
const positiveInt = z.coerce.number().int().positive()

const variables = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(4567),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, 'must be host:port,host:port,...')
    .optional(),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(100),
  CACHE_MODE: z.enum(['auto', 'off']).default('auto'),
  CACHE_TTL_SECONDS: positiveInt.default(3600),
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('cm'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ENDPOINT_URL_DYNAMODB: z.url({ protocol: /^https?$/ }).optional(),
  AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: z.url({ protocol: /^https?$/ }).optional(),
  DDB_MESSAGE_TABLE: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name').default('cruddur-messages'),
  COGNITO_USER_POOL_ID: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'must look like us-east-1_AbCdEf123').optional(),
  COGNITO_CLIENT_ID: optionalString,
  COGNITO_JWKS_FILE: optionalString,
  /** The `iss` of the pool's tokens when it is not AWS's (cognito-local); never in production. */
  COGNITO_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  BODY_LIMIT_BYTES: positiveInt.default(16 * 1024),
  DATA_DIR: z.string().min(1).default('.data'),
  SUBSCRIPTIONS_PER_USER: positiveInt.default(20),
  SUBSCRIPTIONS_PER_INSTANCE: positiveInt.default(10_000),
  SUBSCRIPTION_BUFFER: positiveInt.default(256),
  MAX_BATCH_SIZE: positiveInt.default(10),
  HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(61_000),
  RATE_LIMIT_READS_PER_MINUTE: positiveInt.default(600),
  RATE_LIMIT_WRITES_PER_MINUTE: positiveInt.default(120),
  RATE_LIMIT_ADDRESS_PER_MINUTE: positiveInt.default(3000),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE: positiveInt.default(60),
  DDB_DEADLINE_MS: positiveInt.default(10_000),
  PG_DEADLINE_MS: positiveInt.default(10_000),
  MAX_EVENT_LOOP_DELAY_MS: positiveInt.default(1_000),
  MAX_HEAP_USED_BYTES: positiveInt.optional(),
  CORS_ORIGINS: z
    .string()
    .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
    .pipe(z.array(z.url({ protocol: /^https?$/ })))
    .optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
})

type Variables = z.output<typeof variables>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Checks that span variables; each throws a ConfigError naming the variable to fix. */
function crossCheck(e: Variables): void {
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new ConfigError('REDIS_CLUSTER_NODES: set either REDIS_URL or REDIS_CLUSTER_NODES, not both')
  }
  if ((e.COGNITO_USER_POOL_ID === undefined) !== (e.COGNITO_CLIENT_ID === undefined)) {
    const missing = e.COGNITO_USER_POOL_ID === undefined ? 'COGNITO_USER_POOL_ID' : 'COGNITO_CLIENT_ID'
    throw new ConfigError(`${missing}: required when the other Cognito variable is set`)
  }
  if (e.NODE_ENV === 'production') {
    // Production never falls back to a stand-in: every backend must be named.
    const refuse = (name: string, standIn: string) => {
      throw new ConfigError(`${name}: required with NODE_ENV=production (the ${standIn} is for development only)`)
    }
    if (!e.DATABASE_URL) refuse('DATABASE_URL', 'embedded PostgreSQL')
    if (!e.REDIS_URL && !e.REDIS_CLUSTER_NODES) refuse('REDIS_URL', 'in-process cache')
    if (!e.COGNITO_USER_POOL_ID || e.COGNITO_USER_POOL_ID === DEV_USER_POOL_ID) refuse('COGNITO_USER_POOL_ID', 'local development pool')
    if (e.COGNITO_ISSUER) throw new ConfigError('COGNITO_ISSUER: not accepted with NODE_ENV=production (it is for cognito-local)')
  }
}

/** The variables as the code uses them (the only place that maps names to settings). */
function settings(e: Variables) {
  const userPoolId = e.COGNITO_USER_POOL_ID ?? DEV_USER_POOL_ID
  return {
    env: e.NODE_ENV,
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    /** Unset outside production: an embedded PostgreSQL (PGlite) under dataDir. */
    databaseUrl: e.DATABASE_URL,
    redis: redisOf(e),
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    cacheKeyPrefix: e.CACHE_KEY_PREFIX,
    aws: { region: e.AWS_REGION, dynamodbEndpoint: e.AWS_ENDPOINT_URL_DYNAMODB },
    /** Where cognito:* commands go; the AWS SDK also reads this variable itself. */
    cognitoEndpoint: e.AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
    table: e.DDB_MESSAGE_TABLE,
    cognito: { userPoolId, clientId: e.COGNITO_CLIENT_ID ?? DEV_CLIENT_ID, jwksFile: e.COGNITO_JWKS_FILE, issuer: e.COGNITO_ISSUER, dev: userPoolId === DEV_USER_POOL_ID },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    dataDir: e.DATA_DIR,
    subscriptions: {
      perUser: e.SUBSCRIPTIONS_PER_USER,
      perInstance: e.SUBSCRIPTIONS_PER_INSTANCE,
      /** Events held for a slow reader before its stream is ended (it resumes from its last id). */
      buffer: e.SUBSCRIPTION_BUFFER,
    },
    /** Calls one HTTP batch may carry; more is refused before any runs. */
    maxBatchSize: e.MAX_BATCH_SIZE,
    timeouts: { headersMs: e.HEADERS_TIMEOUT_MS, requestMs: e.REQUEST_TIMEOUT_MS, keepAliveMs: e.KEEP_ALIVE_TIMEOUT_MS },
    rateLimits: {
      readsPerMinute: e.RATE_LIMIT_READS_PER_MINUTE,
      writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE,
      addressPerMinute: e.RATE_LIMIT_ADDRESS_PER_MINUTE,
      subscriptionsPerMinute: e.RATE_LIMIT_SUBSCRIPTIONS_PER_MINUTE,
    },
    /** Proxies (load balancers) in front whose X-Forwarded-For names the client address: 0 trusts none. */
    trustProxyHops: e.TRUST_PROXY_HOPS,
    deadlines: { dynamodbMs: e.DDB_DEADLINE_MS, postgresMs: e.PG_DEADLINE_MS },
    pressure: { maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS, maxHeapUsedBytes: e.MAX_HEAP_USED_BYTES },
    /** Origins whose browsers may call the API (none by default). */
    corsOrigins: e.CORS_ORIGINS ?? [],
    /** When set, /metrics answers only `Authorization: Bearer <token>`; unset, it is open outside production and absent in it. */
    metricsToken: e.METRICS_TOKEN,
  }
}

type RedisSetting =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[] }
  /** No Redis named (development): the in-process cache. */
  | { kind: 'memory' }
  /** CACHE_MODE=off: every read goes to the stores (for comparison runs). */
  | { kind: 'off' }

function redisOf(e: Variables): RedisSetting {
  if (e.CACHE_MODE === 'off') return { kind: 'off' }
  if (e.REDIS_URL) return { kind: 'single', url: e.REDIS_URL }
  if (e.REDIS_CLUSTER_NODES) {
    const nodes = e.REDIS_CLUSTER_NODES.split(',').map((n) => {
      const i = n.lastIndexOf(':')
      return { host: n.slice(0, i), port: Number(n.slice(i + 1)) }
    })
    return { kind: 'cluster', nodes }
  }
  return { kind: 'memory' }
}

export type Config = ReturnType<typeof settings>

/** Parses the environment. Throws ConfigError with one line naming the variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as in most dotenv tooling.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = variables.safeParse(cleaned)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'environment')
    const got = cleaned[name] === undefined ? '' : ` (got ${JSON.stringify(cleaned[name])})`
    throw new ConfigError(`${name}: ${issue.message}${got}`)
  }
  crossCheck(parsed.data)
  return settings(parsed.data)
}

/** The names the configuration knows (compose.yaml and docs are checked against it). */
export const CONFIG_NAMES: readonly string[] = Object.keys(variables.shape)
