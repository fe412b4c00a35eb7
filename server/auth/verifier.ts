// Cognito access tokens, verified by aws-jwt-verify: signature, iss, exp, token_use and client_id.
import { readFile } from 'node:fs/promises'
import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify'
import type { Config } from '../config.js'
import { devKeyPair, type Jwks } from './keys.js'
import { cachingVerifier } from './token-cache.js'

export interface VerifiedToken {
  sub: string
  /** Expiry, seconds since the epoch. */
  exp: number
}

export interface AccessTokenVerifier {
  /** Resolves the token's claims; rejects for any token that is not a valid access token of ours. */
  verify(token: string): Promise<VerifiedToken>
  /** The claims of a token verified before and not yet expired, without waiting; else undefined. */
  known?(token: string): VerifiedToken | undefined
}

/**
 * Keys come from COGNITO_JWKS_FILE (never fetched), the development pool's generated key, or else
 * Cognito's JWKS endpoint (fetched once and on unknown kids, by aws-jwt-verify itself).
 */
export async function createAccessTokenVerifier(config: Pick<Config, 'cognito' | 'dataDir'>): Promise<AccessTokenVerifier> {
  const verifier = config.cognito.issuer ? localIssuerVerifier(config.cognito.issuer, config.cognito.clientId) : CognitoJwtVerifier.create({
    userPoolId: config.cognito.userPoolId,
    clientId: config.cognito.clientId,
    tokenUse: 'access',
  })
  let jwks: Jwks | undefined
  if (config.cognito.jwksFile) jwks = JSON.parse(await readFile(config.cognito.jwksFile, 'utf8')) as Jwks
  else if (config.cognito.dev) jwks = (await devKeyPair(config.dataDir)).jwks
  if (jwks) verifier.cacheJwks(jwks)
  return cachingVerifier({
    async verify(token) {
      // With local keys an unknown kid must fail, not trigger a download: verifySync never fetches.
      const p = jwks ? verifier.verifySync(token) : await verifier.verify(token)
      // aws-jwt-verify checks exp only when present, and the generic verifier (COGNITO_ISSUER) neither:
      // a token must name its user and expire.
      const claims = p as { sub?: unknown; exp?: unknown }
      if (typeof claims.sub !== 'string' || claims.sub === '') throw new Error('token without sub')
      if (typeof claims.exp !== 'number') throw new Error('token without exp')
      return { sub: claims.sub, exp: claims.exp }
    },
  })
}

/**
 * A pool whose tokens name another issuer (cognito-local, outside production only: config refuses
 * COGNITO_ISSUER there), checked as Cognito's are: RS256 signature, iss, exp, token_use, client_id.
 */
function localIssuerVerifier(issuer: string, clientId: string) {
  return JwtVerifier.create({
    issuer,
    audience: null,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    customJwtCheck: ({ payload }) => {
      if (payload.token_use !== 'access') throw new Error('not an access token')
      if (payload.client_id !== clientId) throw new Error('another app client')
    },
  })
}
