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

export const TEST_POOL = 'us-east-1_TestPool1'
export const TEST_CLIENT = 'test-client-id'

export interface TestApp {
  app: FastifyInstance
  url: string
  backends: TestBackends
  key: KeyPair
  jwksFile: string
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

export async function testApp(t: Test, options: { backends?: TestBackends } = {}): Promise<TestApp> {
  const backends = options.backends ?? (await testBackends(t))
  const key = generateKeyPair()
  const jwksFile = await writeJwks(key)
  const verifier = await createAccessTokenVerifier({
    cognito: { userPoolId: TEST_POOL, clientId: TEST_CLIENT, jwksFile, dev: false },
    dataDir: '.data',
  })
  const app = await buildApp({
    config: { table: backends.table, bodyLimitBytes: 16 * 1024 },
    sql: backends.sql,
    ddb: backends.ddb,
    verifier,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  return {
    app,
    url,
    backends,
    key,
    jwksFile,
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
