// The real entry (`node --import tsx server/main.ts`) as a child process on a free port, configured
// only through the environment, as an operator runs it: for tests of signals and of several instances.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { CONFIG_NAMES } from '../../server/config.js'
import { freePort } from './ports.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ServerProcess {
  url: string
  port: number
  /** Everything it wrote to stdout and stderr so far. */
  log(): string
  /** Sends a signal; resolves with the exit code once it has exited. */
  signal(signal: NodeJS.Signals): Promise<number | null>
  exited(): boolean
}

export async function startServerProcess(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'cm-server-'))
  const ours = new Set([...CONFIG_NAMES, 'NODE_OPTIONS'])
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !ours.has(name)))
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...clean, LOG_LEVEL: 'info', ...env, PORT: String(port), DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (log += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c))
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exit
    }
    await rm(dataDir, { recursive: true, force: true })
  })
  for (let i = 0; i < 600 && !log.includes('Server listening'); i++) {
    if (child.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!log.includes('Server listening')) throw new Error(`the server did not start: ${log.slice(-2000)}`)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => log,
    signal(signal) {
      child.kill(signal)
      return exit
    },
    exited: () => child.exitCode !== null || child.signalCode !== null,
  }
}
