// The server's side of the web app: the built files and client routes with their caching, the
// page's /app-config.json, and the development sign-in, which production can never serve.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { devAccessToken } from '../../server/auth/dev-tokens.js'
import { loadConfig } from '../../server/config.js'
import devSignInRoutes from '../../server/routes/dev-sign-in.js'
import { TEST_CLIENT, testApp } from '../helpers/app.js'

async function fakeBuild(t: Test): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cm-web-root-'))
  t.teardown(() => rm(root, { recursive: true, force: true }))
  await mkdir(join(root, 'assets'))
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Cruddur Messages</title>')
  await writeFile(join(root, 'assets', 'index-AbC123.js'), 'console.log(1)')
  return root
}

t.test('the built app at / and its client routes; hashed assets cached for a year', async (t) => {
  const app = await testApp(t, { webRoot: await fakeBuild(t) })
  for (const path of ['/', '/sign-in', '/messages', '/messages/5d1f2f0e-3b7b-4a47-9b1a-1f1e7c8d9e0a', '/messages/new/bayko']) {
    const res = await app.call(path)
    t.equal(res.status, 200, path)
    t.match(res.headers.get('content-type'), /text\/html/, `${path} is the page`)
    t.equal(res.headers.get('cache-control'), 'no-cache', `${path} is revalidated every load`)
  }
  const asset = await app.call('/assets/index-AbC123.js')
  t.equal(asset.status, 200)
  t.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  t.equal((await app.call('/assets/index-Missing.js')).status, 404, 'a missing asset is a 404, not the page')
  t.equal((await app.call('/elsewhere')).status, 404, 'unknown paths stay 404')
  const bare = await app.call('/trpc', { token: await app.token('bayko') })
  t.equal(bare.status, 404)
  t.equal((bare.body as { error: { data: { code: string } } }).error.data.code, 'NOT_FOUND', '/trpc without a procedure still answers in tRPC shape')
  const api = await app.call('/trpc/users.me')
  t.equal(api.status, 401, 'the API is still at /trpc')
  t.equal((api.body as { error: { data: { code: string } } }).error.data.code, 'UNAUTHORIZED')

  const config = await app.call('/app-config.json')
  t.same(config.body, { signIn: 'cognito', cognito: { region: 'us-east-1', clientId: TEST_CLIENT } }, 'a real pool: Cognito sign-in')
  t.equal((await app.call('/auth/dev/users')).status, 404, 'no development sign-in with a real pool')
})

t.test('without a build, the page paths say how to build it', async (t) => {
  const app = await testApp(t, { webRoot: await mkdtemp(join(tmpdir(), 'cm-web-empty-')) })
  const res = await app.call('/messages')
  t.equal(res.status, 503)
  t.match(res.body, /npm run build:web/)
})

t.test('development sign-in: the seeded users, and a token the API accepts', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cm-dev-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const app = await testApp(t, { env: { COGNITO_USER_POOL_ID: '', COGNITO_CLIENT_ID: '', COGNITO_JWKS_FILE: '', DATA_DIR: dataDir } })
  t.same((await app.call('/app-config.json')).body, { signIn: 'dev' })
  const users = await app.call('/auth/dev/users')
  t.same(users.body, {
    users: [
      { handle: 'andrewbrown', displayName: 'Andrew Brown' },
      { handle: 'bayko', displayName: 'Andrew Bayko' },
      { handle: 'londo', displayName: 'Londo Mollari' },
    ],
  })
  t.equal(users.headers.get('cache-control'), 'no-store')
  const post = (body: unknown) =>
    app.call('/auth/dev/sign-in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const signedIn = await post({ handle: '@Bayko' })
  t.equal(signedIn.status, 200)
  const { accessToken, expiresIn, handle } = signedIn.body as { accessToken: string; expiresIn: number; handle: string }
  t.equal(handle, 'bayko')
  t.equal(expiresIn, 3600)
  const me = await app.call('/trpc/users.me', { token: accessToken })
  t.equal((me.body as { result: { data: { handle: string } } }).result.data.handle, 'bayko', 'the API accepts it')
  t.equal((await post({ handle: 'nobody' })).status, 404)
  t.equal((await post({ who: 'bayko' })).status, 400)
  t.equal((await post({ handle: 'bayko', extra: 1 })).status, 400)
})

t.test('development sign-in cannot be enabled in production', async (t) => {
  const production = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://u@127.0.0.1:5432/none',
    REDIS_URL: 'redis://127.0.0.1:6379',
    COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123',
    COGNITO_CLIENT_ID: 'client',
  })
  // Even a configuration forced to claim the development pool.
  for (const config of [production, { ...production, cognito: { ...production.cognito, dev: true } }]) {
    const app = Fastify({ logger: false })
    await t.rejects(
      (async () => {
        await app.register(devSignInRoutes, { config })
        await app.ready()
      })(),
      /refused with NODE_ENV=production/,
      'the plugin refuses to register',
    )
    await app.close().catch(() => undefined)
    await t.rejects(devAccessToken(config, { handle: 'bayko', cognitoUserId: 'x' }), /outside production/, 'no development token either')
  }
  t.throws(
    () => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/d', REDIS_URL: 'redis://h:6379' }),
    /COGNITO_USER_POOL_ID/,
    'and production refuses the development pool itself',
  )
  t.throws(
    () =>
      loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://u@h/d',
        REDIS_URL: 'redis://h:6379',
        COGNITO_USER_POOL_ID: 'us-east-1_AbCdEf123',
        COGNITO_CLIENT_ID: 'client',
        COGNITO_ISSUER: 'http://localhost:9229/local_x',
      }),
    /COGNITO_ISSUER/,
    'or a local issuer',
  )
})
