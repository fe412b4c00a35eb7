// The production sign-in, against cognito-local in the browser: the pool's own USER_PASSWORD_AUTH
// through AWS's SDK, the access token refreshed before it expires, and sign-out revoking the
// refresh token.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AdminSetUserPasswordCommand,
  CreateUserPoolClientCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider'
import t from 'tap'
import { launchBrowser, webApp } from '../helpers/browser.js'
import { startCognitoLocal } from '../helpers/cognito-local.js'

const PASSWORD = 'Correct-Horse-9'

interface StoredSession {
  kind: string
  accessToken: string
  refreshToken?: string
  expiresAt: number
}

t.test('Cognito sign-in, refresh and sign-out in the page', async (t) => {
  const [cognito, browser] = await Promise.all([startCognitoLocal(t), launchBrowser(t)])
  const poolId = await cognito.createPool()
  const created = await cognito.client.send(
    new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: 'web', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
  )
  const clientId = created.UserPoolClient!.ClientId!
  const sub = await cognito.addUser(poolId, { email: 'bayko@cruddur.example' })
  await cognito.client.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: 'bayko@cruddur.example', Password: PASSWORD, Permanent: true }))

  // The issuer cognito-local writes into its tokens, and its keys, for the server to verify them.
  const probe = await cognito.client.send(
    new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: clientId, AuthParameters: { USERNAME: 'bayko@cruddur.example', PASSWORD } }),
  )
  const claims = JSON.parse(Buffer.from(probe.AuthenticationResult!.AccessToken!.split('.')[1]!, 'base64url').toString()) as { iss: string }
  // cognito-local names itself localhost:9229 in `iss` whatever its port: its keys go in a file.
  const keysDir = await mkdtemp(join(tmpdir(), 'cm-cognito-keys-'))
  t.teardown(() => rm(keysDir, { recursive: true, force: true }))
  const jwksFile = join(keysDir, 'jwks.json')
  await writeFile(jwksFile, await (await fetch(`${cognito.endpoint}/${poolId}/.well-known/jwks.json`)).text())
  const app = await webApp(t, {
    env: {
      COGNITO_USER_POOL_ID: poolId,
      COGNITO_CLIENT_ID: clientId,
      COGNITO_ISSUER: claims.iss,
      COGNITO_JWKS_FILE: jwksFile,
      AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: cognito.endpoint,
    },
  })
  await app.backends.users.setCognitoUserId('bayko', sub)
  t.same((await app.call('/app-config.json')).body, { signIn: 'cognito', cognito: { region: poolId.split('_')[0], clientId, endpoint: cognito.endpoint } })

  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${app.url}/messages`)
  await page.waitForURL(`${app.url}/sign-in`)

  await page.getByLabel('Username or email').fill('bayko@cruddur.example')
  await page.getByLabel('Password').fill('wrong-password-1')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor()
  t.pass('a wrong password is refused clearly')

  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${app.url}/messages`)
  await page.getByText('@bayko').waitFor()
  t.pass('signed in with the pool; the API accepted its access token')
  const read = async () => JSON.parse((await page.evaluate(() => localStorage.getItem('cruddur.session'))) ?? 'null') as StoredSession | null
  const first = (await read())!
  t.equal(first.kind, 'cognito')
  t.ok(first.refreshToken, 'a refresh token is kept')

  // Near its expiry, the page renews the access token with the refresh token, by itself.
  await new Promise((r) => setTimeout(r, 1_100))
  await page.evaluate((s) => {
    localStorage.setItem('cruddur.session', JSON.stringify({ ...s, expiresAt: Date.now() + 30_000 }))
  }, first)
  await page.reload()
  await page.waitForFunction((old) => {
    const s = JSON.parse(localStorage.getItem('cruddur.session') ?? 'null') as { accessToken: string } | null
    return s !== null && s.accessToken !== old
  }, first.accessToken)
  const renewed = (await read())!
  t.ok(renewed.expiresAt > Date.now() + 10 * 60_000, 'a fresh expiry')
  const me = await app.call('/trpc/users.me', { token: renewed.accessToken })
  t.equal((me.body as { result: { data: { handle: string } } }).result.data.handle, 'bayko', 'the renewed token is accepted')
  await page.getByText('@bayko').waitFor()

  // The page's RevokeToken call, watched: a failure here names what the page sent and got back. The
  // page forgets its tokens first and revokes after (sign-out is at once, whatever Cognito does), so a
  // refresh right after the page left could still come first: held back here, the revoke would lose
  // that race every time against a test that did not wait for it (once, in CI, it lost it by chance).
  await page.route(`${cognito.endpoint}/**`, async (route) => {
    if (route.request().headers()['x-amz-target']?.endsWith('.RevokeToken')) await new Promise((r) => setTimeout(r, 500))
    await route.continue()
  })
  const revoked = page.waitForResponse((r) => r.request().headers()['x-amz-target']?.endsWith('.RevokeToken') === true, { timeout: 15_000 })
  await page.getByRole('button', { name: 'Sign out' }).click()
  const revoke = await revoked
  t.equal(revoke.status(), 200, 'the page revoked its refresh token', { sent: revoke.request().postData(), answer: await revoke.text() })
  await page.waitForURL(`${app.url}/sign-in`)
  t.equal(await read(), null, 'the tokens are gone from the page')
  await t.rejects(
    cognito.client.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: clientId, AuthParameters: { REFRESH_TOKEN: renewed.refreshToken! } })),
    'the refresh token was revoked',
  )
  await context.close()
})
