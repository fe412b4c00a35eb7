// cognito-local as a child process on a free port (its state under a temporary directory), and an
// SDK client to make pools and users in it. Killed and cleaned up at teardown.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AdminCreateUserCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider'
import type { Test } from 'tap'
import { ROOT } from './cli.js'
import { freePort } from './ports.js'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const START = join(ROOT, 'node_modules/cognito-local/lib/bin/start.js')

export interface CognitoLocal {
  endpoint: string
  client: CognitoIdentityProviderClient
  createPool(name?: string): Promise<string>
  /** Creates a confirmed-by-admin user; returns its `sub`. */
  addUser(poolId: string, user: { email: string; preferredUsername?: string }): Promise<string>
}

async function launch(cwd: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  const child = spawn(process.execPath, [START], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cognito-local did not start in 20 s: ${output}`)), 20_000)
      const onData = (d: Buffer) => {
        output += d.toString()
        if (/Cognito Local running on/.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`cognito-local exited (${code}): ${output}`))
      })
    })
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return { child, port }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export async function startCognitoLocal(t: Test): Promise<CognitoLocal> {
  const cwd = await mkdtemp(join(tmpdir(), 'cm-cognito-'))
  let started: { child: ChildProcess; port: number } | undefined
  let lastError: unknown
  // The port is free when chosen; should someone take it before cognito-local binds, try another.
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    started = await launch(cwd).catch((err: unknown) => {
      lastError = err
      return undefined
    })
  }
  if (!started) {
    await rm(cwd, { recursive: true, force: true })
    throw lastError
  }
  const { child, port } = started
  const endpoint = `http://127.0.0.1:${port}`
  const client = new CognitoIdentityProviderClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
  })
  // Stop the server, then remove its directory.
  t.teardown(async () => {
    client.destroy()
    if (child.exitCode === null && child.signalCode === null) await stop(child)
    await rm(cwd, { recursive: true, force: true })
  })

  return {
    endpoint,
    client,
    async createPool(name = 'cruddur-test') {
      const out = await client.send(new CreateUserPoolCommand({ PoolName: name }))
      return out.UserPool!.Id!
    },
    async addUser(poolId, user) {
      const out = await client.send(
        new AdminCreateUserCommand({
          UserPoolId: poolId,
          Username: user.email,
          MessageAction: 'SUPPRESS',
          UserAttributes: [
            { Name: 'email', Value: user.email },
            ...(user.preferredUsername ? [{ Name: 'preferred_username', Value: user.preferredUsername }] : []),
          ],
        }),
      )
      const sub = out.User?.Attributes?.find((a) => a.Name === 'sub')?.Value
      if (!sub) throw new Error('cognito-local returned no sub')
      return sub
    },
  }
}
