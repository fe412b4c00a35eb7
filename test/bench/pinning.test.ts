// Where the bench runs what (bench/servers.ts): with taskset and two or more CPUs, the bench itself
// (its load generator) on CPUs 1.., the servers on CPU 0, dynalite with the load; without taskset,
// nothing pinned and the report says why.
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import t from 'tap'
import { machine, pinningLine } from '../../bench/report.js'
import { pinLoadGenerator, startChild, stopChild } from '../../bench/servers.js'

const allowedCpus = (pid: number | string) => /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
/** Once taskset has set the CPUs and exec'd the command (before that the child has ours). */
async function execed(pid: number): Promise<void> {
  for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('taskset'); i++) await new Promise((r) => setTimeout(r, 10))
}

t.test('without taskset nothing is pinned, and the table says why', async (t) => {
  const path = process.env.PATH
  process.env.PATH = t.testdir() // an empty directory: no taskset on it
  t.teardown(() => {
    process.env.PATH = path
  })
  const pinning = pinLoadGenerator()
  t.match(pinning, { pinned: false, reason: cpus().length < 2 ? /CPU/ : /taskset unavailable/ })
  t.match(pinningLine({ ...machine(), pinning }), /^not pinned \(/)
  t.equal(allowedCpus('self'), cpus().length > 1 ? `0-${cpus().length - 1}` : '0', 'this process left where it was')
})

t.test('with taskset: the load generator on CPUs 1.., the servers on CPU 0 (on one CPU: not pinned, and why)', async (t) => {
  const pinning = pinLoadGenerator()
  if (cpus().length < 2) {
    t.same(pinning, { pinned: false, reason: '1 CPU' })
    return
  }
  const loadCpus = cpus().length === 2 ? '1' : `1-${cpus().length - 1}`
  t.same(pinning, { pinned: true, serverCpus: '0', loadCpus })
  t.equal(allowedCpus('self'), loadCpus, 'this process (the load generator) moved')
  t.match(pinningLine({ ...machine(), pinning }), /^pinned with taskset: the server under test \(and the baseline, in its turn\) on CPU 0, the load generator and dynalite on CPU 1/)
  const idle = ['-e', 'setInterval(() => {}, 1000)']
  const server = startChild('a server', idle, {}, 1, 'server')
  const load = startChild('dynalite', idle, {}, 2)
  t.teardown(async () => {
    await stopChild(server, 100)
    await stopChild(load, 100)
  })
  await execed(server.pid)
  await execed(load.pid)
  t.equal(allowedCpus(server.pid), '0', 'a server runs on CPU 0 (and keeps its PID through taskset)')
  t.equal(allowedCpus(load.pid), loadCpus, 'what the bench runs itself runs with the load')
})
