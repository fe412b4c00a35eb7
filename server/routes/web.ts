// The web app (web/, built by Vite into web/dist) at / and its client-side routes, beside the API.
// index.html is revalidated on every load; hashed assets never change, so they are cached for a year.
import { existsSync } from 'node:fs'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Config } from '../config.js'

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url))

/** The paths the page routes itself (web/src/router.ts): each answers index.html. */
export const CLIENT_ROUTES = ['/', '/sign-in', '/messages', '/messages/:uuid', '/messages/new/:handle'] as const

const YEAR_SECONDS = 365 * 24 * 3600

/** What the page needs to know to sign in: the development endpoint, or which Cognito app client. */
export type AppConfigBody =
  | { signIn: 'dev' }
  | { signIn: 'cognito'; cognito: { region: string; clientId: string; endpoint?: string } }

export function appConfigOf(config: Config, devSignIn: boolean): AppConfigBody {
  if (devSignIn) return { signIn: 'dev' }
  const region = config.cognito.userPoolId.split('_')[0]!
  return {
    signIn: 'cognito',
    cognito: { region, clientId: config.cognito.clientId, ...(config.cognitoEndpoint ? { endpoint: config.cognitoEndpoint } : {}) },
  }
}

export interface WebOptions {
  config: Config
  devSignIn: boolean
  /** The built app (default web/dist). */
  root?: string
}

export default async function webRoutes(app: FastifyInstance, options: WebOptions): Promise<void> {
  const root = options.root ?? WEB_DIST
  const body = appConfigOf(options.config, options.devSignIn)
  app.get('/app-config.json', async (_req, reply) => reply.header('cache-control', 'no-cache').send(body))

  if (!existsSync(join(root, 'index.html'))) {
    // Started without a build (npm start builds first; a bare `tsx server/main.ts` may not have).
    app.log.warn({ root }, 'the web app is not built: run `npm run build:web`')
    for (const path of CLIENT_ROUTES) {
      app.get(path, async (_req, reply) =>
        reply.code(503).header('cache-control', 'no-store').type('text/plain').send('The web app is not built: run `npm run build:web`.\n'),
      )
    }
    return
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: false,
    // One route per built file (no catch-all), so paths outside the app, /trpc among them, keep
    // their own 404 answers.
    wildcard: false,
    cacheControl: false,
    setHeaders(reply: FastifyReply, path: string) {
      const immutable = path.includes(`${sep}assets${sep}`)
      void reply.header('cache-control', immutable ? `public, max-age=${YEAR_SECONDS}, immutable` : 'no-cache')
    },
  })
  for (const path of CLIENT_ROUTES) {
    app.get(path, async (_req, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html'))
  }
}
