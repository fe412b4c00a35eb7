// The server entry with zero setup: nothing configured, it starts embedded PostgreSQL (PGlite),
// dynalite and the in-process cache under DATA_DIR, seeds them, serves, and stops cleanly on SIGTERM.
// In production, with nothing configured, it refuses to start, in one line.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CONFIG_NAMES } from '../../server/config.js'
import { freePort } from '../helpers/ports.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))


/** This process's environment without any of the service's configuration (and without tap's loaders). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const drop = new Set<string>([...CONFIG_NAMES, 'NODE_OPTIONS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.has(name)))
  return { ...env, ...extra }
}

function exited(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
  })
}

t.test('zero setup: start, token, call, SIGTERM', { timeout: 110_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cm-main-'))
  const port = await freePort()
  const env = cleanEnv({ PORT: String(port), DATA_DIR: dataDir })
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited(child, 5000)
    }
    await rm(dataDir, { recursive: true, force: true })
  })

  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 60_000)
    const check = () => {
      if (stdout.includes('Server listening')) {
        clearTimeout(timer)
        resolve(true)
      }
    }
    child.stdout.on('data', check)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve(false)
    })
    check()
  })
  t.ok(listening, 'logs "Server listening" within 60 s')
  if (!listening) {
    t.comment(stdout.slice(-2000))
    t.comment(stderr.slice(-2000))
    return
  }
  t.match(stdout, new RegExp(`127\\.0\\.0\\.1:${port}`), 'on the given PORT of 127.0.0.1')

  const health = await fetch(`http://127.0.0.1:${port}/health`)
  t.equal(health.status, 200)
  const ready = await fetch(`http://127.0.0.1:${port}/ready`)
  t.equal(ready.status, 200)
  t.match(await ready.json(), { postgres: 'up', dynamodb: 'up' })

  const token = await new Promise<string>((resolve, reject) => {
    execFile('npm', ['run', '-s', 'token', '--', 'bayko'], { cwd: ROOT, env: cleanEnv({ DATA_DIR: dataDir }), timeout: 30_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`token command failed: ${errOut}`))
      else resolve(out.trim())
    })
  })
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the token command prints one JWT')

  const res = await fetch(`http://127.0.0.1:${port}/trpc/messageGroups.list`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  const body = (await res.json()) as { result: { data: { items: { handle: string; message: string; createdAt: string }[]; nextCursor: string | null } } }
  const items = body.result.data.items
  t.equal(items.length, 1, 'the seeded conversation')
  t.equal(items[0]?.handle, 'andrewbrown', 'with andrewbrown, as bayko sees it')
  t.ok(items[0] && Date.parse(items[0].createdAt) < Date.now(), 'its last message lies in the past')
  t.ok(items[0] && Date.now() - Date.parse(items[0].createdAt) < 15 * 60_000, 'within the last minutes')
  const me = await fetch(`http://127.0.0.1:${port}/trpc/users.me`, { headers: { authorization: `Bearer ${token}` } })
  t.match(await me.json(), { result: { data: { handle: 'bayko' } } })
  const noToken = await fetch(`http://127.0.0.1:${port}/trpc/users.me`)
  t.equal(noToken.status, 401)

  const sent = Date.now()
  child.kill('SIGTERM')
  const exit = await exited(child, 15_000)
  t.not(exit, 'timeout', 'exits within 15 s of SIGTERM')
  if (exit !== 'timeout') t.same(exit, { code: 0, signal: null }, 'with exit code 0')
  t.comment(`shutdown took ${Date.now() - sent} ms`)
  t.notOk(existsSync(join(dataDir, 'embedded.json')), 'the embedded backends are no longer advertised')
  t.match(stdout, /npm run -s token -- bayko/, 'printed how to get a token')
  t.match(stdout, /"signal":"SIGTERM"/, 'logged the shutdown')
  t.notMatch(stderr, /\n\s+at /, 'no stack on stderr')
})

t.test('NODE_ENV=production with nothing configured exits 1, one line naming DATABASE_URL', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'cm-main-prod-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const env = cleanEnv({ NODE_ENV: 'production', PORT: String(await freePort()), DATA_DIR: dataDir })
  delete env.NODE_NO_WARNINGS
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const exit = await exited(child, 30_000)
  if (exit === 'timeout') child.kill('SIGKILL')
  t.same(exit, { code: 1, signal: null }, 'exit code 1')
  const lines = stderr.split('\n').filter((l) => l.trim() !== '')
  t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(stderr)}`)
  t.match(lines[0], /DATABASE_URL/, 'naming DATABASE_URL')
  t.notMatch(stderr, /\bat |Error:|\.ts:\d+/, 'no stack')
  t.equal(stdout.trim(), '', 'nothing on stdout')
  t.notOk(existsSync(join(dataDir, 'postgres')), 'no embedded database was started')
})
