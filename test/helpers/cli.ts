// Running `db/cli.ts` as a child process, as a user would, against backends of the test's own.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { startDynalite } from '../../server/embedded/dynalite.js'
import { testDatabase } from './databases.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `node --import tsx db/cli.ts ...args` with a clean environment: only `env` (plus PATH, HOME,
 * fake AWS keys and NODE_NO_WARNINGS=1 unless overridden; an `undefined` value removes a name).
 */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const merged: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    AWS_ACCESS_KEY_ID: 'fake',
    AWS_SECRET_ACCESS_KEY: 'fake',
    AWS_REGION: 'us-east-1',
    NODE_NO_WARNINGS: '1',
    ...env,
  }
  const clean = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'db/cli.ts', ...args], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Output lines without the trailing empty one. */
export const lines = (text: string): string[] => text.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === ''))


/** A new, empty (not migrated) PostgreSQL database; dropped at teardown. */
export const freshDatabase = (t: Test) => testDatabase(t, { migrated: false, prefix: 'cm_cli' })

/** A dynalite of the test's own, with no table. */
export async function freshDynamo(t: Test): Promise<string> {
  const server = await startDynalite()
  t.teardown(() => server.close())
  return server.endpoint
}

/** A temporary directory (for DATA_DIR and the like); removed at teardown. */
export async function tempDir(t: Test, prefix = 'cm-cli-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Asserts a failure the CLI reported in one line, without a stack trace. */
export function assertOneLineFailure(t: Test, r: CliResult, code: number, pattern: RegExp, message?: string): void {
  t.equal(r.code, code, `${message ?? 'exit code'} (stderr: ${r.stderr.trim()})`)
  const errorLines = lines(r.stderr)
  t.equal(errorLines.length, code === 2 ? 2 : 1, 'stderr has the error line (and, for a usage error, the usage line)')
  t.match(errorLines[0] ?? '', pattern)
  if (code === 2) t.match(errorLines[1] ?? '', /^usage: npm run db -- \S+/)
  t.notMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace')
  t.notMatch(r.stderr + r.stdout, / {4}at /, 'no stack frame')
}
