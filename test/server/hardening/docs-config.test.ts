// The README's configuration table names every variable server/config.ts reads, so the docs stay true.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { CONFIG_NAMES } from '../../../server/config.js'

t.test('every configuration name is in the README table', async (t) => {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8')
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## The command line'))
  for (const name of CONFIG_NAMES) t.ok(table.includes(`\`${name}\``), name)
})
