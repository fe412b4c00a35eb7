// Cognito sign-in with AWS's own SDK (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH, RevokeToken): loaded
// only when the server names a Cognito pool, so the development page does not carry it.
import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RevokeTokenCommand,
  type AuthenticationResultType,
} from '@aws-sdk/client-cognito-identity-provider'
import type { CognitoSettings } from './app-config'
import type { Session } from './session'

function clientOf(c: CognitoSettings): CognitoIdentityProviderClient {
  // InitiateAuth and RevokeToken are public (unsigned) calls: no AWS credentials in the page.
  return new CognitoIdentityProviderClient({ region: c.region, ...(c.endpoint ? { endpoint: c.endpoint } : {}) })
}

/** When a JWT expires, from its own `exp` (cognito-local answers without ExpiresIn). */
function expiryOf(jwt: string): number {
  const payload = jwt.split('.')[1] ?? ''
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
  const exp = (JSON.parse(json) as { exp?: unknown }).exp
  if (typeof exp !== 'number') throw new Error('an access token without exp')
  return exp * 1000
}

function sessionOf(handle: string, r: AuthenticationResultType | undefined, refreshToken?: string): Session {
  if (!r?.AccessToken) throw new Error('Cognito answered without an access token')
  const refresh = r.RefreshToken ?? refreshToken
  return {
    kind: 'cognito',
    handle,
    accessToken: r.AccessToken,
    expiresAt: expiryOf(r.AccessToken),
    ...(refresh ? { refreshToken: refresh } : {}),
  }
}

export async function signInWithPassword(c: CognitoSettings, username: string, password: string): Promise<Session> {
  const out = await clientOf(c).send(
    new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: c.clientId, AuthParameters: { USERNAME: username, PASSWORD: password } }),
  )
  if (out.ChallengeName) throw new Error(`Cognito asks for ${out.ChallengeName}, which this page does not handle`)
  return sessionOf(username, out.AuthenticationResult)
}

export async function refreshSession(c: CognitoSettings, session: Session): Promise<Session> {
  if (!session.refreshToken) throw new Error('no refresh token')
  const out = await clientOf(c).send(
    new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: c.clientId, AuthParameters: { REFRESH_TOKEN: session.refreshToken } }),
  )
  return sessionOf(session.handle, out.AuthenticationResult, session.refreshToken)
}

export async function revokeSession(c: CognitoSettings, session: Session): Promise<void> {
  if (!session.refreshToken) return
  await clientOf(c).send(new RevokeTokenCommand({ ClientId: c.clientId, Token: session.refreshToken }))
}
