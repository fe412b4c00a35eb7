// The web app in Debian's Chromium through playwright-core: a build of web/ of the test file's own
// (so parallel files never rebuild each other's), the server on real backends with the development
// sign-in, and browser contexts signed in through the sign-in page.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { type TestApp, testApp, type TestAppOptions } from './app.js'

const WEB = fileURLToPath(new URL('../../web/', import.meta.url))
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

let built: Promise<string> | undefined

/** web/ built into a temporary directory, once per test process. */
export function buildWeb(t: Test): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'cm-web-'))
    const { build } = await import('vite')
    await build({ configFile: join(WEB, 'vite.config.ts'), root: WEB, logLevel: 'error', build: { outDir, emptyOutDir: true } })
    return outDir
  })()
  void built.then((dir) => { t.teardown(() => rm(dir, { recursive: true, force: true })) })
  return built
}

export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  // playwright gives each launch a fresh temporary profile.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
  t.teardown(() => browser.close())
  return browser
}

/** The server on real backends, serving the web build, with the development pool's sign-in. */
export async function webApp(t: Test, options: TestAppOptions = {}): Promise<TestApp & { dataDir: string }> {
  const [webRoot, dataDir] = await Promise.all([buildWeb(t), mkdtemp(join(tmpdir(), 'cm-web-data-'))])
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const app = await testApp(t, {
    ...options,
    webRoot,
    // The development pool (its key under dataDir), as `npm start` runs: the sign-in page lists users.
    env: { COGNITO_USER_POOL_ID: '', COGNITO_CLIENT_ID: '', COGNITO_JWKS_FILE: '', DATA_DIR: dataDir, ...options.env },
  })
  return { ...app, dataDir }
}

/** A context of its own (cookies, storage), signed in as `handle` through the sign-in page. */
export async function signedIn(
  browser: Browser,
  url: string,
  handle: string,
  viewport = { width: 1100, height: 720 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' })
  const page = await context.newPage()
  await page.goto(`${url}/sign-in`)
  await page.getByRole('button', { name: new RegExp(`@${handle}$`) }).click()
  await page.waitForURL(`${url}/messages`)
  return { context, page }
}

/** A development-pool token for a user of the app (what the sign-in page gets). */
export async function devToken(app: TestApp, handle: string): Promise<string> {
  const { devAccessToken } = await import('../../server/auth/dev-tokens.js')
  const user = await app.backends.users.findByHandle(handle)
  if (!user?.cognitoUserId) throw new Error(`no cognito user id for ${handle}`)
  return devAccessToken(app.config, { handle: user.handle, cognitoUserId: user.cognitoUserId })
}

/** Sends a message through the API as `from`; resolves to the conversation's uuid. */
export async function send(app: TestApp, token: string, to: { handle: string } | { messageGroupUuid: string }, message: string): Promise<string> {
  const res = await app.call('/trpc/messages.create', {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...to, message }),
  })
  if (res.status !== 200) throw new Error(`messages.create answered ${res.status}: ${JSON.stringify(res.body)}`)
  return (res.body as { result: { data: { messageGroupUuid: string } } }).result.data.messageGroupUuid
}
