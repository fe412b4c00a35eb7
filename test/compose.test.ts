// compose.yaml and the Dockerfile cannot run here (no Docker engine), so they are checked as data:
// every variable the app gets is one the configuration knows, and together they pass its checks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { CONFIG_NAMES, loadConfig } from '../server/config.js'

const ROOT = new URL('../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')

/** The standard AWS SDK credential names: not ours, but DynamoDB Local needs some to be set. */
const AWS_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']

/** What a user would put in .env: the values compose demands. */
const USER_ENV: Record<string, string> = {
  COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123',
  COGNITO_CLIENT_ID: '1example23456789',
}

interface Service {
  image?: string
  build?: unknown
  command?: string | string[]
  environment?: Record<string, string | number | boolean | null> | string[]
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: string | string[] }
  ports?: (string | number | Record<string, unknown>)[]
  volumes?: (string | Record<string, unknown>)[]
  [key: string]: unknown
}

const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> }
const services = compose.services

/**
 * Compose's variable interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}`. Throws like compose does when a required variable is missing.
 */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$(\$|\{([A-Za-z_]\w*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_]\w*))/g, (_whole: string, dollar?: string, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (dollar === '$') return '$'
    if (bare) return env[bare] ?? ''
    const v = env[name as string]
    const unset = colon ? v === undefined || v === '' : v === undefined
    if (op === '-') return unset ? (arg as string) : v!
    if (op === '?') {
      if (unset) throw new Error(`required variable ${name} is missing a value: ${arg}`)
      return v!
    }
    return v ?? ''
  })
}

/** A service's environment as a map, after interpolation. */
function environmentOf(service: Service, env: Record<string, string | undefined>): Record<string, string> {
  const raw = service.environment ?? {}
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((line) => {
        const i = line.indexOf('=')
        return i < 0 ? [line, env[line] ?? ''] : [line.slice(0, i), line.slice(i + 1)]
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? (env[k] ?? '') : String(v)])
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, env)]))
}

const dependsOn = (s: Service): Record<string, string | undefined> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((d) => [d, undefined]))
    : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition]))

const commandText = (c: string | string[] | undefined) => (Array.isArray(c) ? c.join(' ') : (c ?? ''))

t.test('interpolate follows compose', async (t) => {
  const env = { A: 'a', EMPTY: '' }
  t.equal(interpolate('x$$y', env), 'x$y')
  t.equal(interpolate('${A}-$A', env), 'a-a')
  t.equal(interpolate('${MISSING}', env), '')
  t.equal(interpolate('${MISSING:-d}|${EMPTY:-d}|${EMPTY-d}|${A:-d}', env), 'd|d||a')
  t.throws(() => interpolate('${MISSING:?say so}', env), { message: /MISSING.*say so/ })
  t.throws(() => interpolate('${EMPTY:?say so}', env), { message: /EMPTY/ })
  t.equal(interpolate('${EMPTY?x}', env), '')
})

t.test('the services: redis, postgres, dynamodb, a one-shot setup, and the app', async (t) => {
  t.same(Object.keys(services).sort(), ['app', 'dynamodb', 'postgres', 'redis', 'setup'])
  t.match(services.redis!.image, /^redis:7/)
  t.match(services.postgres!.image, /^postgres:16/)
  t.match(services.dynamodb!.image, /^amazon\/dynamodb-local/)
  t.match(commandText(services.dynamodb!.command), /-sharedDb/, 'one database whatever the credentials')
  for (const name of ['app', 'setup']) {
    t.ok(services[name]!.build, `${name} is built from the Dockerfile`)
  }
  t.match(commandText(services.app!.command), /^npm start$/)
  t.match(commandText(services.setup!.command), /^npm run db -- setup$/)
  t.not(services.setup!.restart, 'always', 'setup runs once')

  for (const name of ['redis', 'postgres', 'dynamodb', 'app']) {
    t.ok(services[name]!.healthcheck?.test, `${name} has a healthcheck`)
  }
  t.same(dependsOn(services.setup!), { postgres: 'service_healthy', dynamodb: 'service_healthy' })
  t.same(dependsOn(services.app!), {
    setup: 'service_completed_successfully',
    postgres: 'service_healthy',
    dynamodb: 'service_healthy',
    redis: 'service_healthy',
  })
  // Named volumes are declared.
  for (const s of Object.values(services)) {
    for (const v of s.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0]! : String(v.source)
      if (!source.startsWith('.') && !source.startsWith('/')) t.ok(compose.volumes && source in compose.volumes, `volume ${source} declared`)
    }
  }
})

t.test('app and setup get only names the configuration knows (and AWS credentials)', async (t) => {
  for (const name of ['app', 'setup']) {
    const env = environmentOf(services[name]!, USER_ENV)
    t.ok(Object.keys(env).length > 0)
    for (const key of Object.keys(env)) {
      t.ok(CONFIG_NAMES.includes(key) || AWS_CREDENTIALS.includes(key), `${name}: ${key} is a known name`)
    }
  }
  t.same(environmentOf(services.setup!, USER_ENV), environmentOf(services.app!, USER_ENV), 'setup configures the same backends as the app')
})

t.test("the app's environment passes loadConfig in production, pointing at the compose services", async (t) => {
  const env = environmentOf(services.app!, USER_ENV)
  t.equal(env.NODE_ENV, 'production')
  const config = loadConfig(env)
  t.equal(config.production, true)
  t.equal(config.host, '0.0.0.0', 'reachable from outside the container')
  t.equal(new URL(config.databaseUrl!).hostname, 'postgres')
  t.equal(config.redis.kind, 'single')
  if (config.redis.kind === 'single') t.equal(new URL(config.redis.url).hostname, 'redis')
  const dynamo = new URL(config.aws.dynamodbEndpoint!)
  t.equal(dynamo.hostname, 'dynamodb')
  t.equal(dynamo.port, '8000', "DynamoDB Local's port")
  t.equal(config.table, 'cruddur-messages')
  t.equal(config.cognito.userPoolId, USER_ENV.COGNITO_USER_POOL_ID)
  t.equal(config.cognito.dev, false)
  t.match(env.AWS_ACCESS_KEY_ID, /^[A-Za-z0-9]+$/, 'DynamoDB Local accepts only letters and digits in the key id')
  t.ok(env.AWS_SECRET_ACCESS_KEY)

  // The database URL's password is the one the postgres service is started with.
  const pgEnv = environmentOf(services.postgres!, USER_ENV)
  const url = new URL(config.databaseUrl!)
  t.equal(decodeURIComponent(url.password), pgEnv.POSTGRES_PASSWORD)
  t.equal(decodeURIComponent(url.username), pgEnv.POSTGRES_USER ?? 'postgres')
  t.equal(url.pathname.slice(1), pgEnv.POSTGRES_DB ?? pgEnv.POSTGRES_USER ?? 'postgres')
  // ... also when the user picks another one.
  const custom = { ...USER_ENV, POSTGRES_PASSWORD: 'other-secret' }
  t.equal(new URL(environmentOf(services.app!, custom).DATABASE_URL!).password, environmentOf(services.postgres!, custom).POSTGRES_PASSWORD)

  // The published port is the one the app listens on.
  const published = (services.app!.ports ?? []).map(String)
  t.ok(published.some((p) => p.endsWith(`:${config.port}`)), `port ${config.port} published (${published.join(', ')})`)
  t.match(commandText(services.app!.healthcheck?.test), new RegExp(`127\\.0\\.0\\.1:${config.port}/(ready|health)`))
})

t.test('compose insists on a real Cognito pool rather than starting a server that rejects every token', async (t) => {
  t.throws(() => environmentOf(services.app!, {}), { message: /COGNITO_USER_POOL_ID/ })
  t.throws(() => environmentOf(services.app!, { COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123' }), { message: /COGNITO_CLIENT_ID/ })
})

t.test('the Dockerfile builds the app on node:20-slim and starts it with npm start', async (t) => {
  t.ok(existsSync(new URL('Dockerfile', ROOT)))
  const dockerfile = read('Dockerfile')
  const instructions = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))
  t.match(instructions[0], /^FROM node:20-slim\b/)
  t.match(dockerfile, /^CMD \["npm", ?"start"\]$/m, 'the start command')
  const pkg = JSON.parse(read('package.json')) as {
    scripts: Record<string, string>
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
    workspaces: string[]
  }
  t.equal(pkg.scripts.start, 'tsx server/main.ts')
  t.ok(pkg.dependencies.tsx, 'tsx is a runtime dependency')
  t.match(dockerfile, /npm ci\b.*--omit=dev/, 'devDependencies stay out of the image')
  t.match(dockerfile, /COPY package\.json package-lock\.json/)
  for (const ws of pkg.workspaces) {
    t.match(dockerfile, new RegExp(`COPY ${ws}/package\\.json`), `the ${ws} workspace is there for npm ci`)
  }
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim())
  for (const entry of ['node_modules', '.env', '.data', '.git']) t.ok(ignored.includes(entry), `.dockerignore keeps out ${entry}`)
  for (const entry of ['server', 'db', 'contracts', 'client', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    t.notOk(ignored.includes(entry), `${entry} goes into the image`)
  }
})

t.test('code that runs in the image imports no devDependency', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }
  const dev = new Set(Object.keys(pkg.devDependencies))
  const files: string[] = []
  const walk = (dir: string) => {
    const abs = new URL(dir, ROOT)
    if (!existsSync(abs)) return
    for (const entry of readdirSync(abs)) {
      const rel = join(dir, entry)
      if (entry === 'node_modules') continue
      if (statSync(new URL(rel, ROOT)).isDirectory()) walk(rel)
      else if (/\.(ts|js|mjs|cjs)$/.test(entry) && !/\.test\.ts$/.test(entry)) files.push(rel)
    }
  }
  for (const dir of ['server', 'db', 'contracts/src', 'client/src']) walk(dir)
  t.ok(files.length > 0)
  for (const file of files) {
    const source = read(file)
    // Value imports and re-exports only: `import type` vanishes at run time.
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
      ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]!)
    for (const s of specifiers) {
      if (s.startsWith('.') || s.startsWith('node:')) continue
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!
      if (dev.has(name)) t.fail(`${file} imports the devDependency ${name}, which the image does not install`)
    }
  }
  t.pass(`${files.length} files checked`)
})
