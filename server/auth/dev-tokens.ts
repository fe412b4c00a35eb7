// Access tokens of the local development pool, signed with its generated key: what `npm run token`
// prints and what the development sign-in endpoint hands out. Outside production only.
import type { Config } from '../config.js'
import { signAccessToken } from './access-token.js'
import { devKeyPair } from './keys.js'

export interface DevTokenUser {
  handle: string
  cognitoUserId: string
}

export async function devAccessToken(
  config: Pick<Config, 'cognito' | 'dataDir' | 'production'>,
  user: DevTokenUser,
  ttlSeconds = 3600,
): Promise<string> {
  // Config refuses the development pool in production already; this is the second lock.
  if (config.production || !config.cognito.dev) throw new Error('development tokens exist only for the local development pool outside production')
  const key = await devKeyPair(config.dataDir)
  return signAccessToken(key, {
    sub: user.cognitoUserId,
    username: user.handle,
    userPoolId: config.cognito.userPoolId,
    clientId: config.cognito.clientId,
    ttlSeconds,
  })
}
