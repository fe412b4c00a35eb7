import t, { type Test } from 'tap'
import { CONFIG_NAMES, ConfigError, DEV_CLIENT_ID, DEV_USER_POOL_ID, loadConfig } from '../../server/config.js'

type Env = Record<string, string | undefined>

/** A complete production environment: every backend named. */
const PRODUCTION: Env = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://cruddur:secret@db.internal:5432/cruddur',
  REDIS_URL: 'redis://cache.internal:6379',
  COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123',
  COGNITO_CLIENT_ID: '1example23456789',
}

/** The ConfigError loadConfig throws for `env`, checked to be one line naming `name` first. */
function configError(t: Test, env: Env, name: string): string {
  let caught: unknown
  try {
    loadConfig(env)
  } catch (err) {
    caught = err
  }
  t.type(caught, ConfigError, `${JSON.stringify(env)} is refused`)
  const message = caught instanceof Error ? caught.message : ''
  t.equal(message.split('\n').length, 1, `one line: ${message}`)
  t.ok(message.startsWith(`${name}: `), `names ${name}: ${message}`)
  return message
}

t.test('defaults: an empty environment is a working development setup', async (t) => {
  const c = loadConfig({})
  t.equal(c.env, 'development')
  t.equal(c.production, false)
  t.equal(c.port, 4567)
  t.equal(c.host, '127.0.0.1')
  t.equal(c.logLevel, 'info')
  t.equal(c.databaseUrl, undefined, 'embedded PostgreSQL')
  t.same(c.redis, { kind: 'memory' }, 'in-process cache')
  t.same(c.aws, { region: 'us-east-1', dynamodbEndpoint: undefined }, 'embedded DynamoDB')
  t.equal(c.cognitoEndpoint, undefined)
  t.equal(c.table, 'cruddur-messages')
  t.same(c.cognito, { userPoolId: DEV_USER_POOL_ID, clientId: DEV_CLIENT_ID, jwksFile: undefined, dev: true })
  t.equal(c.redisCommandTimeoutMs, 100)
  t.equal(c.cacheTtlSeconds, 3600)
  t.equal(c.cacheKeyPrefix, 'cm')
  t.equal(c.bodyLimitBytes, 16 * 1024)
  t.equal(c.dataDir, '.data')
})

t.test('reads every variable it knows', async (t) => {
  const c = loadConfig({
    NODE_ENV: 'test',
    PORT: '8080',
    HOST: '0.0.0.0',
    LOG_LEVEL: 'debug',
    DATABASE_URL: 'postgresql://u:p@h:5433/d',
    REDIS_URL: 'rediss://r.example:6380',
    REDIS_COMMAND_TIMEOUT_MS: '250',
    CACHE_TTL_SECONDS: '60',
    CACHE_KEY_PREFIX: 'cm-test.1',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
    AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: 'http://127.0.0.1:9229',
    DDB_MESSAGE_TABLE: 'cruddur-messages-test',
    COGNITO_USER_POOL_ID: 'eu-west-1_Xyz789',
    COGNITO_CLIENT_ID: 'client123',
    COGNITO_JWKS_FILE: '/etc/cruddur/jwks.json',
    BODY_LIMIT_BYTES: '2048',
    DATA_DIR: '/var/lib/cruddur',
  })
  t.equal(c.env, 'test')
  t.equal(c.production, false)
  t.equal(c.port, 8080)
  t.equal(c.host, '0.0.0.0')
  t.equal(c.logLevel, 'debug')
  t.equal(c.databaseUrl, 'postgresql://u:p@h:5433/d')
  t.same(c.redis, { kind: 'single', url: 'rediss://r.example:6380' })
  t.equal(c.redisCommandTimeoutMs, 250)
  t.equal(c.cacheTtlSeconds, 60)
  t.equal(c.cacheKeyPrefix, 'cm-test.1')
  t.same(c.aws, { region: 'eu-west-1', dynamodbEndpoint: 'http://127.0.0.1:8000' })
  t.equal(c.cognitoEndpoint, 'http://127.0.0.1:9229')
  t.equal(c.table, 'cruddur-messages-test')
  t.same(c.cognito, { userPoolId: 'eu-west-1_Xyz789', clientId: 'client123', jwksFile: '/etc/cruddur/jwks.json', dev: false })
  t.equal(c.bodyLimitBytes, 2048)
  t.equal(c.dataDir, '/var/lib/cruddur')
})

t.test('variables it does not know are ignored (the whole process environment is passed in)', async (t) => {
  const c = loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: 'x', AWS_ACCESS_KEY_ID: 'local' })
  t.equal(c.port, 4567)
})

t.test('reads process.env when given nothing', async (t) => {
  const saved = process.env.PORT
  process.env.PORT = '4999'
  t.teardown(() => {
    if (saved === undefined) delete process.env.PORT
    else process.env.PORT = saved
  })
  t.equal(loadConfig().port, 4999)
})

t.test('every bad value stops with one line naming the variable', async (t) => {
  const bad: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://u@h/d'],
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_CLUSTER_NODES', 'node1'],
    ['REDIS_CLUSTER_NODES', 'node1:7000, node2:7001'],
    ['REDIS_CLUSTER_NODES', 'node1:7000,'],
    ['REDIS_CLUSTER_NODES', 'node1:port'],
    ['REDIS_COMMAND_TIMEOUT_MS', '0'],
    ['REDIS_COMMAND_TIMEOUT_MS', 'fast'],
    ['CACHE_MODE', 'sometimes'],
    ['CACHE_TTL_SECONDS', '-5'],
    ['CACHE_KEY_PREFIX', 'has space'],
    ['CACHE_KEY_PREFIX', 'a:b'],
    ['AWS_ENDPOINT_URL_DYNAMODB', 'ftp://127.0.0.1:8000'],
    ['AWS_ENDPOINT_URL_DYNAMODB', '127.0.0.1:8000'],
    ['AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER', 'nope'],
    ['DDB_MESSAGE_TABLE', 'ab'],
    ['DDB_MESSAGE_TABLE', 'bad table!'],
    ['COGNITO_USER_POOL_ID', 'nounderscore'],
    ['COGNITO_JWKS_FILE', '   '],
    ['BODY_LIMIT_BYTES', '0'],
  ]
  for (const [name, value] of bad) {
    // Cognito variables come in pairs; give the partner so the value itself is what fails.
    const env: Env = { [name]: value }
    if (name === 'COGNITO_USER_POOL_ID') env.COGNITO_CLIENT_ID = 'client123'
    const message = configError(t, env, name)
    t.match(message, JSON.stringify(value), `quotes the bad value of ${name}`)
  }
})

t.test('REDIS_URL and REDIS_CLUSTER_NODES together are refused', async (t) => {
  const message = configError(t, { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'a:7000,b:7001' }, 'REDIS_CLUSTER_NODES')
  t.match(message, /REDIS_URL/)
})

t.test('half a Cognito configuration is refused, naming the missing half', async (t) => {
  configError(t, { COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123' }, 'COGNITO_CLIENT_ID')
  configError(t, { COGNITO_CLIENT_ID: 'client123' }, 'COGNITO_USER_POOL_ID')
  // An empty partner is no partner.
  configError(t, { COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123', COGNITO_CLIENT_ID: '' }, 'COGNITO_CLIENT_ID')
  configError(t, { COGNITO_USER_POOL_ID: '', COGNITO_CLIENT_ID: 'client123' }, 'COGNITO_USER_POOL_ID')
})

t.test('production: a complete environment passes', async (t) => {
  const c = loadConfig(PRODUCTION)
  t.equal(c.production, true)
  t.equal(c.env, 'production')
  t.equal(c.databaseUrl, PRODUCTION.DATABASE_URL)
  t.same(c.redis, { kind: 'single', url: PRODUCTION.REDIS_URL })
  t.equal(c.aws.dynamodbEndpoint, undefined, 'DynamoDB is AWS itself, not a stand-in')
  t.same(c.cognito, { userPoolId: 'us-east-1_AbCdEf123', clientId: '1example23456789', jwksFile: undefined, dev: false })
  const cluster = loadConfig({ ...PRODUCTION, REDIS_URL: undefined, REDIS_CLUSTER_NODES: 'c1:7000,c2:7000' })
  t.equal(cluster.redis.kind, 'cluster', 'a Redis Cluster instead of REDIS_URL is fine')
})

t.test('production refuses every stand-in with a clear message', async (t) => {
  const cases: [string, Env, RegExp][] = [
    ['DATABASE_URL', { DATABASE_URL: undefined }, /NODE_ENV=production.*embedded PostgreSQL/],
    ['REDIS_URL', { REDIS_URL: undefined }, /NODE_ENV=production.*in-process cache/],
    ['COGNITO_USER_POOL_ID', { COGNITO_USER_POOL_ID: undefined, COGNITO_CLIENT_ID: undefined }, /NODE_ENV=production.*development pool/],
    ['COGNITO_USER_POOL_ID', { COGNITO_USER_POOL_ID: DEV_USER_POOL_ID }, /NODE_ENV=production.*development pool/],
  ]
  for (const [name, change, why] of cases) {
    const message = configError(t, { ...PRODUCTION, ...change }, name)
    t.match(message, why)
  }
  // Outside production the same environments are fine: the stand-ins are for development.
  for (const [, change] of cases) {
    t.doesNotThrow(() => loadConfig({ ...PRODUCTION, ...change, NODE_ENV: 'development' }))
  }
})

t.test('empty strings count as unset', async (t) => {
  const c = loadConfig({
    PORT: '',
    HOST: '',
    NODE_ENV: '',
    DATABASE_URL: '',
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: '',
    AWS_ENDPOINT_URL_DYNAMODB: '',
    DDB_MESSAGE_TABLE: '',
    COGNITO_USER_POOL_ID: '',
    COGNITO_CLIENT_ID: '',
    COGNITO_JWKS_FILE: '',
  })
  t.equal(c.port, 4567)
  t.equal(c.host, '127.0.0.1')
  t.equal(c.env, 'development')
  t.equal(c.databaseUrl, undefined)
  t.same(c.redis, { kind: 'memory' })
  t.equal(c.aws.dynamodbEndpoint, undefined)
  t.equal(c.table, 'cruddur-messages')
  t.equal(c.cognito.userPoolId, DEV_USER_POOL_ID)
  t.equal(c.cognito.jwksFile, undefined)
  // ... so in production an empty value is a missing one.
  configError(t, { ...PRODUCTION, DATABASE_URL: '' }, 'DATABASE_URL')
  configError(t, { ...PRODUCTION, REDIS_URL: '' }, 'REDIS_URL')
  // And REDIS_URL='' next to a cluster is not "both".
  t.equal(loadConfig({ REDIS_URL: '', REDIS_CLUSTER_NODES: 'a:7000' }).redis.kind, 'cluster')
})

t.test('cluster nodes are parsed into hosts and ports', async (t) => {
  const c = loadConfig({ REDIS_CLUSTER_NODES: 'node-1.cache.internal:7000,10.0.0.12:7001,localhost:6379' })
  t.same(c.redis, {
    kind: 'cluster',
    nodes: [
      { host: 'node-1.cache.internal', port: 7000 },
      { host: '10.0.0.12', port: 7001 },
      { host: 'localhost', port: 6379 },
    ],
  })
  t.same(loadConfig({ REDIS_CLUSTER_NODES: 'one:7000' }).redis, { kind: 'cluster', nodes: [{ host: 'one', port: 7000 }] })
})

t.test('CACHE_MODE=off turns the cache off, whatever Redis is configured', async (t) => {
  t.same(loadConfig({ CACHE_MODE: 'off' }).redis, { kind: 'off' })
  t.same(loadConfig({ CACHE_MODE: 'off', REDIS_URL: 'redis://r:6379' }).redis, { kind: 'off' })
  t.same(loadConfig({ CACHE_MODE: 'auto', REDIS_URL: 'redis://r:6379' }).redis, { kind: 'single', url: 'redis://r:6379' })
})

t.test('CONFIG_NAMES lists every name of the contract', async (t) => {
  for (const name of [
    'PORT',
    'HOST',
    'DATABASE_URL',
    'REDIS_URL',
    'REDIS_CLUSTER_NODES',
    'AWS_REGION',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'DDB_MESSAGE_TABLE',
    'COGNITO_USER_POOL_ID',
    'COGNITO_CLIENT_ID',
    'COGNITO_JWKS_FILE',
    'NODE_ENV',
  ]) {
    t.ok(CONFIG_NAMES.includes(name), name)
  }
  t.notOk(CONFIG_NAMES.includes('AWS_ACCESS_KEY_ID'), 'credentials are the SDK\'s business, not ours')
})
