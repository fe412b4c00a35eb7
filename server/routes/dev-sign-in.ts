// Development sign-in for the web page: the seeded users, and a development-pool token for one of
// them (as `npm run token` prints). Registered only outside production on the development pool;
// registering it in production throws, so no configuration can turn it on there.
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { devAccessToken } from '../auth/dev-tokens.js'
import type { Config } from '../config.js'
import { createUsersRepository } from '../data/users-repository.js'

const TOKEN_TTL_SECONDS = 3600
const SignInBody = z.object({ handle: z.string().min(1).max(65) }).strict()

/** Whether this configuration serves development sign-in at all. */
export const devSignInEnabled = (config: Pick<Config, 'production' | 'cognito'>): boolean => !config.production && config.cognito.dev

export default function devSignInRoutes(app: FastifyInstance, { config }: { config: Config }, done: (err?: Error) => void): void {
  if (!devSignInEnabled(config)) {
    done(new Error('development sign-in is refused with NODE_ENV=production or a real Cognito pool'))
    return
  }
  const users = createUsersRepository(app.backends.sql)
  const noStore = { 'cache-control': 'no-store' }

  app.get('/auth/dev/users', async (_req, reply) => {
    const all = await users.list()
    const listed = all.filter((u) => u.cognitoUserId).map((u) => ({ handle: u.handle, displayName: u.displayName }))
    return reply.headers(noStore).send({ users: listed })
  })

  app.post('/auth/dev/sign-in', async (req, reply) => {
    const body = SignInBody.safeParse(req.body)
    if (!body.success) return reply.code(400).headers(noStore).send({ error: 'body must be {"handle": "<handle>"}' })
    const user = await users.findByHandle(body.data.handle)
    if (!user?.cognitoUserId) return reply.code(404).headers(noStore).send({ error: 'no such user with a Cognito user id' })
    const accessToken = await devAccessToken(config, { handle: user.handle, cognitoUserId: user.cognitoUserId }, TOKEN_TTL_SECONDS)
    return reply.headers(noStore).send({ handle: user.handle, accessToken, expiresIn: TOKEN_TTL_SECONDS })
  })
  done()
}
