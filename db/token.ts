// `npm run -s token -- <handle>`: prints an access token of the local development pool for a user,
// signed with the development key the server trusts (outside production only).
import { loadConfig } from '../server/config.js'
import { devAccessToken } from '../server/auth/dev-tokens.js'
import { openBackends } from '../server/backends.js'
import { createUsersRepository } from '../server/data/users-repository.js'
import { describeFailure, quietNodeVersionWarning } from '../server/lib/process.js'

quietNodeVersionWarning()

const USAGE = 'usage: npm run -s token -- <handle> [--ttl <seconds>]'

async function main(argv: string[]): Promise<number> {
  const handle = argv.find((a) => !a.startsWith('--'))
  const ttlIndex = argv.indexOf('--ttl')
  const ttl = ttlIndex >= 0 ? Number(argv[ttlIndex + 1]) : 3600
  if (!handle || !Number.isInteger(ttl) || ttl <= 0) {
    console.error(USAGE)
    return 2
  }
  const config = loadConfig()
  if (!config.cognito.dev) {
    console.error('token: only the local development pool has a key here; use Cognito for COGNITO_USER_POOL_ID tokens')
    return 1
  }
  const backends = await openBackends(config, { dynamo: false })
  try {
    const user = await createUsersRepository(backends.sql).findByHandle(handle)
    if (!user?.cognitoUserId) {
      console.error(`token: no user with handle ${handle} and a Cognito user id (npm run db -- users:add ...)`)
      return 1
    }
    console.log(await devAccessToken(config, { handle: user.handle, cognitoUserId: user.cognitoUserId }, ttl))
    return 0
  } finally {
    await backends.close()
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`token: ${describeFailure(err)}`)
    process.exit(1)
  },
)
