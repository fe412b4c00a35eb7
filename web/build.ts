// Builds the web app into web/dist when it is missing or older than its sources: `npm start` runs this
// before the server, so a fresh clone serves a working page and a changed source is never served stale.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const WEB = join(ROOT, 'web')
const BUILT = join(WEB, 'dist', 'index.html')
/** What the bundle is made of: the page and the packages it imports from this repository. */
const SOURCES = ['web/src', 'web/index.html', 'web/vite.config.ts', 'web/package.json', 'client/src', 'contracts/src'].map((p) => join(ROOT, p))

function newestMtime(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs)
}

export function webBuildIsCurrent(): boolean {
  if (!existsSync(BUILT)) return false
  const built = statSync(BUILT).mtimeMs
  return SOURCES.every((s) => !existsSync(s) || newestMtime(s) <= built)
}

/** Builds unless current; resolves to whether it built. */
export async function ensureWebBuilt(options: { quiet?: boolean } = {}): Promise<boolean> {
  if (webBuildIsCurrent()) return false
  // Loaded only when needed: a production image serves its prebuilt files without Vite.
  const { build } = await import('vite')
  await build({ configFile: join(WEB, 'vite.config.ts'), root: WEB, logLevel: options.quiet ? 'error' : 'info' })
  return true
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.env.NODE_ENV === 'production' && existsSync(BUILT)) process.exit(0)
  ensureWebBuilt().then(
    (built) => {
      if (!built) console.log('web: web/dist is up to date')
    },
    (err: unknown) => {
      console.error(`web: the build failed: ${err instanceof Error ? err.message : String(err)}`)
      process.exit(1)
    },
  )
}
