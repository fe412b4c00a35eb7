// Real redis-server processes owned by one test: started on a free port of 127.0.0.1 with a data
// directory of their own, killed, restarted on the same port, paused (SIGSTOP) and resumed, and all
// killed when the test ends. Also a 3-node Redis Cluster built with `redis-cli --cluster create`.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, Redis } from 'ioredis'
import type { Test } from 'tap'
import { freePort } from './ports.js'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every redis-server this process started and has not seen exit: killed even if a test crashes. */
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export interface RedisServerOptions {
  /** A port chosen beforehand (e.g. one an app already points at); a free one otherwise. */
  port?: number
  /** Persist every write (`--appendonly yes --appendfsync always`), so a restart restores entries. */
  appendOnly?: boolean
  /** Extra command-line flags, e.g. `['--cluster-enabled', 'yes']`, or a function of the port. */
  args?: string[] | ((port: number) => string[])
}

export interface RedisServer {
  readonly port: number
  readonly host: '127.0.0.1'
  readonly url: string
  /** The data directory (kept across restarts). */
  readonly dir: string
  /** The running process's pid, undefined while stopped. */
  readonly pid: number | undefined
  /** Starts it again on the same port and directory (after stop/kill); resolves once PING answers. */
  start(): Promise<void>
  /** SIGTERM (or the given signal), resolving when the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** SIGKILL: no shutdown save, connections reset. */
  kill(): Promise<void>
  /** SIGSTOP: the process keeps its sockets but answers nothing until resume(). */
  pause(): void
  /** SIGCONT. */
  resume(): void
  /** An ioredis client for inspection (closed at teardown). */
  client(): Redis
}


/**
 * Holds a port where no Redis answers: every connection is reset at once. Unlike a port that was merely
 * free a moment ago, no other test's redis-server can take it meanwhile. `release()` frees it (e.g.
 * right before starting a redis-server on it).
 */
export async function unreachablePort(t: Test): Promise<{ port: number; release: () => Promise<void> }> {
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  let released = false
  const release = async () => {
    if (released) return
    released = true
    await new Promise<void>((r) => server.close(() => r()))
  }
  t.teardown(release)
  return { port, release }
}

/** One raw PING over TCP: true on +PONG (false on refusal, -LOADING, silence for `timeoutMs`). */
export function ping(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let answer = ''
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString()
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
    socket.on('error', () => done(false))
  })
}

/** Starts a redis-server of the test's own. */
export async function startRedis(t: Test, options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'cm-redis-'))
  let port = options.port ?? (await freePort())
  let child: ChildProcess | undefined
  const clients: (Redis | Cluster)[] = []

  async function launch(): Promise<void> {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--dir', dir,
      '--protected-mode', 'no',
      '--loglevel', 'warning',
      ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(typeof options.args === 'function' ? options.args(port) : (options.args ?? [])),
    ]
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(proc)
    let output = ''
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()))
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()))
    // An object, not a `let`: the 'exit' handler sets it while the loop below awaits.
    const state = { exited: false }
    proc.once('exit', () => {
      state.exited = true
      live.delete(proc)
    })
    child = proc
    // Event-driven enough: a short poll of PING, bounded, failing fast if the process dies.
    for (let i = 0; i < 250; i++) {
      if (state.exited) throw new Error(`redis-server on ${port} exited: ${output.trim().slice(-500)}`)
      if (await ping(port)) return
      await sleep(20)
    }
    proc.kill('SIGKILL')
    throw new Error(`redis-server on ${port} did not answer PING: ${output.trim().slice(-500)}`)
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = child
    child = undefined
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((r) => proc.once('exit', () => r()))
    if (signal !== 'SIGKILL') proc.kill('SIGCONT') // a paused server cannot act on SIGTERM
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  // The port was free a moment ago; another process may have taken it since: try a few.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch()
      break
    } catch (err) {
      if (attempt >= 3 || options.port !== undefined || !/in use|bind/i.test(String(err))) throw err
      port = await freePort()
    }
  }

  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())))
    await stop('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  return {
    get port() {
      return port
    },
    host: '127.0.0.1',
    get url() {
      return `redis://127.0.0.1:${port}`
    },
    dir,
    get pid() {
      return child?.pid
    },
    start: async () => {
      if (child) throw new Error('redis-server is running')
      await launch()
    },
    stop,
    kill: () => stop('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    client() {
      const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: false })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
  }
}

export interface RedisCluster {
  servers: RedisServer[]
  nodes: { host: string; port: number }[]
  /** An ioredis Cluster client for inspection (closed at teardown). */
  client(): Cluster
}

/** A Redis Cluster of `size` masters and no replicas, every slot covered, cluster_state:ok everywhere. */
export async function startRedisCluster(t: Test, size = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = []
  for (let i = 0; i < size; i++) {
    servers.push(
      await startRedis(t, {
        args: (port) => ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
      }),
    )
  }
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`)
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
  const probes = servers.map((s) => s.client())
  for (let i = 0; ; i++) {
    const infos = await Promise.all(probes.map((c) => c.cluster('INFO')))
    if (infos.every((info) => /cluster_state:ok/.test(info) && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(size))) break
    if (i > 200) throw new Error(`cluster not ok: ${infos.join('\n')}`)
    await sleep(50)
  }
  const clients: Cluster[] = []
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())))
  })
  const nodes = servers.map((s) => ({ host: s.host, port: s.port }))
  return {
    servers,
    nodes,
    client() {
      const c = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
  }
}
