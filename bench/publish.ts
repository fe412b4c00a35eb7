// Publishes a results file to docs/: docs/bench-latest.json, docs/bench-latency.svg and the figures
// section of docs/benchmark.md. npm run bench does it after every complete run; by hand:
//   npx tsx bench/publish.ts [results.json (default bench/results/latest.json)]
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { writeChart } from './chart.js'
import { type BenchResults, updateDoc } from './report.js'
import { ROOT } from './servers.js'

export async function publish(results: BenchResults): Promise<string[]> {
  const docs = join(ROOT, 'docs')
  await mkdir(docs, { recursive: true })
  const json = join(docs, 'bench-latest.json')
  await writeFile(json, JSON.stringify(results, null, 2) + '\n')
  const chart = await writeChart(results, join(docs, 'bench-latency.svg'))
  const doc = await updateDoc(results, join(docs, 'benchmark.md'))
  return [json, chart, ...(doc ? [join(docs, 'benchmark.md') + ' (figures)'] : [])]
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const input = resolve(process.argv[2] ?? join(ROOT, 'bench', 'results', 'latest.json'))
  const results = JSON.parse(await readFile(input, 'utf8')) as BenchResults
  for (const file of await publish(results)) console.log(file)
}
