// Signs Cognito-shaped access tokens (RS256) with a key we hold: the local development pool's key,
// and the keys tests and the bench make. Production tokens come from Cognito itself.
import { createSign, type KeyObject, randomUUID } from 'node:crypto'

export interface SigningKey {
  kid: string
  privateKey: KeyObject | string
}

export interface AccessTokenClaims {
  sub: string
  userPoolId: string
  clientId: string
  /** Seconds of validity from now (negative for an expired token). */
  ttlSeconds?: number
  tokenUse?: 'access' | 'id'
  username?: string
  /** Overrides the issuer derived from the pool id. */
  issuer?: string
}

export const cognitoIssuer = (userPoolId: string): string =>
  `https://cognito-idp.${userPoolId.split('_')[0]}.amazonaws.com/${userPoolId}`

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

export function signAccessToken(key: SigningKey, claims: AccessTokenClaims): string {
  const now = Math.floor(Date.now() / 1000)
  const tokenUse = claims.tokenUse ?? 'access'
  const payload = {
    sub: claims.sub,
    iss: claims.issuer ?? cognitoIssuer(claims.userPoolId),
    // Access tokens name the app client in client_id; id tokens in aud.
    ...(tokenUse === 'access' ? { client_id: claims.clientId, scope: 'aws.cognito.signin.user.admin' } : { aud: claims.clientId }),
    token_use: tokenUse,
    username: claims.username ?? claims.sub,
    auth_time: now,
    iat: now,
    exp: now + (claims.ttlSeconds ?? 3600),
    jti: randomUUID(),
    origin_jti: randomUUID(),
    event_id: randomUUID(),
    version: 2,
  }
  const input = `${b64({ alg: 'RS256', kid: key.kid, typ: 'JWT' })}.${b64(payload)}`
  const signature = createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url')
  return `${input}.${signature}`
}
