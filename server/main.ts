// The one entry that listens. With nothing configured it runs on embedded backends (dynalite,
// PGlite, the in-process cache), set up and seeded, with a local development key for tokens.
import closeWithGrace from 'close-with-grace'
import { loadConfig } from './config.js'
import { describeFailure, quietNodeVersionWarning } from './lib/process.js'
import { createServer } from './server.js'

quietNodeVersionWarning()

async function main() {
  const config = loadConfig()
  const server = await createServer(config, { shareEmbedded: true })
  const log = server.app.log
  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) log.error({ err }, 'shutting down after an error')
    else log.info({ signal }, 'shutting down')
    await server.stop()
  })
  const url = await server.start()
  if (config.cognito.dev) {
    console.log(
      [
        '',
        'Cruddur Messages is running on embedded development backends.',
        'A token for a seeded user (andrewbrown, bayko, londo), signed with the local development key:',
        '  npm run -s token -- bayko',
        'Try it:',
        `  curl -s -H "Authorization: Bearer $(npm run -s token -- bayko)" '${url}/trpc/messageGroups.list'`,
        '',
      ].join('\n'),
    )
  }
}

main().catch((err: unknown) => {
  console.error(`cruddur-messages: ${describeFailure(err)}`)
  process.exit(1)
})
