// A separate package (test/fixtures/outside-app) that depends on "@cruddur/client" by name: its
// sources type-check with their own tsconfig, and its code runs against the real server.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { testApp } from '../helpers/app.js'

const exec = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const FIXTURE = 'test/fixtures/outside-app'

t.test('the outside app type-checks on its own (types resolve through the package name)', async (t) => {
  const pkg = JSON.parse(await readFile(`${ROOT}${FIXTURE}/package.json`, 'utf8')) as { name: string; dependencies: Record<string, string> }
  t.equal(pkg.name, 'outside-app')
  t.equal(pkg.dependencies['@cruddur/client'], '*')
  const source = await readFile(`${ROOT}${FIXTURE}/index.ts`, 'utf8')
  t.match(source, /from '@cruddur\/client'/, 'imports the client by package name')
  t.notMatch(source, /from '\.\.?\//, 'and nothing by relative path')
  t.match(source, /@ts-expect-error/, 'holds @ts-expect-error lines')

  const result = await exec('npx', ['tsc', '--noEmit', '-p', FIXTURE, '--listFiles'], { cwd: ROOT, timeout: 90_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: unknown) => {
      // execFile's rejection carries the exit code and the output.
      const e = err as { code?: number; stdout?: string; stderr?: string }
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
    },
  )
  const diagnostics = result.stdout.split('\n').filter((l) => /error TS\d+/.test(l))
  t.same(diagnostics, [], 'no type errors (an unused @ts-expect-error would be one)')
  t.equal(result.code, 0, 'tsc exits 0')
  t.match(result.stdout, /\/client\/src\/index\.ts/, "the client's own sources were resolved")
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
