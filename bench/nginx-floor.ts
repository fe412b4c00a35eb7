// `bench:tail --floor`: nginx (Debian's nginx-light or nginx), one process pinned like the baseline,
// answering the same bytes from memory with no Redis. A C server that does nothing: its tail under the
// same open loop is what the machine and the load generator put under any server's p99, so a tail
// the baseline shares with it is not the baseline's (nor the cache hit's) to remove.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Floor {
  url: string
  pid: number
  stop(): void
}

/** nginx's path and version (`nginx/1.22.1`, as `nginx -v` prints it), or undefined when it is not installed. */
export function findNginx(): { path: string; version: string } | undefined {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    const r = spawnSync(path, ['-v'], { encoding: 'utf8' })
    if (r.status === 0) return { path, version: /nginx\/\S+/.exec(`${r.stderr}${r.stdout}`)?.[0] ?? 'nginx' }
  }
  return undefined
}

/**
 * Starts nginx in the foreground (no master: the PID is the one process that serves), on `cpus` when
 * given, answering `GET <path>` with `body` (JSON) over keep-alive, logging nothing.
 */
export async function startNginxFloor(options: { nginx: string; port: number; path: string; body: string; cpus?: string }): Promise<Floor> {
  const dir = mkdtempSync(join(tmpdir(), 'cm-floor-'))
  writeFileSync(join(dir, 'body.json'), options.body)
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  open_file_cache max=16 inactive=600s;
  open_file_cache_valid 600s;
  server {
    listen 127.0.0.1:${options.port};
    location = ${options.path} { default_type application/json; alias ${dir}/body.json; }
  }
}
`,
  )
  const argv = [options.nginx, '-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')]
  const [command, ...args] = options.cpus ? ['taskset', '-c', options.cpus, ...argv] : argv
  const proc: ChildProcess = spawn(command!, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${options.port}`
  const stop = () => {
    process.removeListener('exit', stop)
    proc.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
  // However the bench ends (it exits on errors and signals): nginx without a master outlives its parent.
  process.once('exit', stop)
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}${options.path}`)).ok) break
    } catch {
      // not listening yet
    }
    if (i > 100 || proc.exitCode !== null) {
      stop()
      throw new Error('nginx did not start')
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url, pid: proc.pid!, stop }
}
