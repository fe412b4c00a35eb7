// A separate package (test/fixtures/outside-app) that depends on "@cruddur/client" by name: packed
// with `npm pack` and installed in a directory outside this repository, its TypeScript type-checks
// (strict, without skipLibCheck) and its plain JavaScript runs on Node 20 against the real server.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { testApp } from '../helpers/app.js'

const exec = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIXTURE = 'test/fixtures/outside-app'

/** Runs a command; resolves to its exit code and output (never rejects). */
async function run(cmd: string, args: string[], cwd: string, timeout = 180_000) {
  return exec(cmd, args, { cwd, timeout, maxBuffer: 16 * 1024 * 1024 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: unknown) => {
      const e = err as { code?: number; stdout?: string; stderr?: string }
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
    },
  )
}

// npm pack (which builds both packages) and an npm install outside the repository: a minute or two.
t.setTimeout(400_000)

t.test('the packed packages, installed outside this repository: strict TypeScript and plain JavaScript', async (t) => {
  const pkg = JSON.parse(await readFile(`${ROOT}${FIXTURE}/package.json`, 'utf8')) as { name: string; dependencies: Record<string, string> }
  t.equal(pkg.name, 'outside-app')
  const source = await readFile(`${ROOT}${FIXTURE}/index.ts`, 'utf8')
  t.match(source, /from '@cruddur\/client'/, 'imports the client by package name')
  t.notMatch(source, /from '\.\.?\//, 'and nothing by relative path')
  t.match(source, /@ts-expect-error/, 'holds @ts-expect-error lines')
  const tsconfig = JSON.parse(await readFile(`${ROOT}${FIXTURE}/tsconfig.json`, 'utf8')) as { compilerOptions: Record<string, unknown> }
  t.equal(tsconfig.compilerOptions.strict, true, 'strict')
  t.equal(tsconfig.compilerOptions.skipLibCheck, false, 'the packages\' declarations are checked too')

  // `npm pack` builds each package (prepack) and packs what it publishes.
  const dir = await mkdtemp(join(tmpdir(), 'cm-outside-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir, '-w', 'contracts', '-w', 'client'], ROOT)
  t.equal(packed.code, 0, `npm pack: ${packed.stderr.slice(-500)}`)
  const tarballs = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])
  t.same(tarballs.map((p) => p.files.map((f) => f.path).filter((f) => f.startsWith('src/'))), [[], []], 'no sources in the tarballs')
  t.ok(tarballs.every((p) => p.files.some((f) => f.path === 'dist/index.d.ts')), 'declarations in both')

  const app = join(dir, 'app')
  await mkdir(app)
  for (const file of ['index.ts', 'run.mjs', 'tsconfig.json']) await copyFile(`${ROOT}${FIXTURE}/${file}`, join(app, file))
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'outside-app', private: true, type: 'module' }))
  const installed = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs.map((p) => join(dir, p.filename)),
      '@trpc/client@11.25.2', '@trpc/server@11.25.2', 'zod@4.6.7', '@types/node@20.19.43'],
    app,
  )
  t.equal(installed.code, 0, `npm install: ${installed.stderr.slice(-500)}`)

  const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.', '--listFiles'], app)
  const diagnostics = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l))
  t.same(diagnostics, [], 'no type errors (an unused @ts-expect-error would be one)')
  t.equal(tsc.code, 0, 'tsc exits 0')
  t.match(tsc.stdout, /node_modules\/@cruddur\/client\/dist\/index\.d\.ts/, "the client's published declarations were used")
  const fromRepo = tsc.stdout.split('\n').filter((f) => f.startsWith(ROOT) && !f.startsWith(`${ROOT}node_modules/typescript/`))
  t.same(fromRepo, [], "nothing from this repository's sources (the server's included)")

  const server = await testApp(t)
  const node20 = await run(process.execPath, ['run.mjs', server.url, await server.token('bayko')], app, 60_000)
  t.equal(node20.code, 0, `node run.mjs: ${node20.stderr.slice(-500)}`)
  t.same(JSON.parse(node20.stdout), { me: 'bayko', sent: 'hello from plain JS', notFound: 'NOT_FOUND', tooLong: false }, 'plain JavaScript on Node 20 uses both packages')
})

t.test('the outside app runs against the server', async (t) => {
  const app = await testApp(t)
  const { run } = await import('../fixtures/outside-app/index.js')
  let tokenCalls = 0
  const summary = await run(app.url, async () => {
    tokenCalls++
    return app.token('bayko')
  })
  t.equal(summary.me.handle, 'bayko')
  t.same(summary.conversations, [])
  t.equal(summary.sent.message.message, 'hello from bayko')
  t.equal(summary.sent.message.handle, 'bayko')
  t.same(summary.notFound, { code: 'NOT_FOUND', httpStatus: 404 })
  t.same(summary.badFields, ['limit'])
  t.ok(tokenCalls >= 4, `the token function was called per request (${tokenCalls})`)
})
