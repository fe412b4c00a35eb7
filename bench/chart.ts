// Draws the fixed-rate latency percentiles (p50 / p97.5 / p99, grouped bars per scenario, log scale)
// of a results file as a hand-written SVG.
//   npx tsx bench/chart.ts [results.json (default bench/results/latest.json)] [out.svg (default docs/bench-latency.svg)]
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { BenchResults } from './report.js'
import { ROOT } from './servers.js'

const SERIES = [
  { key: 'p50', label: 'p50', color: '#4e79a7' },
  { key: 'p97_5', label: 'p97.5', color: '#f28e2b' },
  { key: 'p99', label: 'p99', color: '#e15759' },
] as const

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const fmt = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0))

export function latencyChart(results: BenchResults): string {
  const groups = results.scenarios.map((s) => ({
    id: s.id,
    rate: s.fixedRate.targetRate,
    overloaded: s.fixedRate.overloaded,
    values: SERIES.map((x) => s.fixedRate.latency[x.key]),
  }))
  // The floor (nginx answering the same bytes on the same core, at the common rate), beside the route.
  const floor = results.floor && 'latency' in results.floor ? results.floor.latency : undefined
  if (floor) {
    const at = groups.findIndex((g) => g.id === 'd-baseline') + 1
    groups.splice(at > 0 ? at : groups.length, 0, { id: 'floor (nginx)', rate: floor.targetRate, overloaded: floor.overloaded, values: SERIES.map((x) => floor.latency[x.key]) })
  }
  // Scenario (e): the create's own latency beside the time until the other participant's subscriber
  // on another instance received it.
  const rt = results.realtime?.delivery
  if (rt) {
    groups.push(
      { id: 'e-create', rate: rt.rate, overloaded: false, values: SERIES.map((x) => rt.createMs[x.key]) },
      { id: 'e-delivery', rate: rt.rate, overloaded: false, values: SERIES.map((x) => rt.deliveryMs[x.key]) },
    )
  }
  const all = groups.flatMap((g) => g.values).filter((v) => Number.isFinite(v) && v > 0)
  // At least half a decade under the smallest bar, so that it shows.
  const lo = Math.floor(Math.log10(Math.min(...all, 1)) - 0.5)
  const hi = Math.ceil(Math.log10(Math.max(...all, 1)))
  const bar = 20
  const gap = 3
  const groupW = SERIES.length * bar + (SERIES.length - 1) * gap + 44
  const left = 64
  const top = 76
  const plotH = 280
  const width = Math.max(720, left + groups.length * groupW + 24)
  const height = top + plotH + 64
  const y = (v: number) => top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * plotH

  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(
      `Latency at a fixed rate: ${Math.round(results.options.latencyLoad * 100)}% of each scenario's max req/s`,
    )}</text>`,
    `<text x="${left}" y="40" font-size="11" fill="#555">${esc(
      results.options.latencyDriver === 'open-loop'
        ? "ms, log scale; the bench's open loop, each latency from the request's scheduled start (no coordinated omission)"
        : "ms, log scale; autocannon's overallRate (per-second bursts, 1 ms resolution)",
    )}</text>`,
    `<text x="${left}" y="55" font-size="11" fill="#555">${esc(
      `${results.machine.nproc} × ${results.machine.cpuModel}, node ${results.machine.node}, ${results.startedAt.slice(0, 16).replace('T', ' ')} UTC` +
        (floor ? '; floor: nginx answering the same bytes on the same core, at the common rate of the cost comparison' : ''),
    )}</text>`,
  )
  // Grid: every decade, with 2 and 5 between.
  for (let d = lo; d <= hi; d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d
      if (Math.log10(v) > hi + 1e-9) continue
      const yy = y(v).toFixed(1)
      parts.push(`<line x1="${left}" x2="${width - 16}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#ccc' : '#eee'}" stroke-width="1"/>`)
      parts.push(`<text x="${left - 6}" y="${(Number(yy) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${v >= 1 ? v : v.toPrecision(1)}</text>`)
    }
  }
  parts.push(`<text x="16" y="${top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle">ms</text>`)
  groups.forEach((g, i) => {
    const x0 = left + 22 + i * groupW
    g.values.forEach((v, j) => {
      if (!Number.isFinite(v)) return
      const x = x0 + j * (bar + gap)
      const yy = y(v)
      parts.push(`<rect x="${x}" y="${yy.toFixed(1)}" width="${bar}" height="${(top + plotH - yy).toFixed(1)}" fill="${SERIES[j]!.color}"><title>${esc(`${g.id} ${SERIES[j]!.label}: ${fmt(v)} ms`)}</title></rect>`)
      parts.push(`<text x="${x + bar / 2}" y="${(yy - 3).toFixed(1)}" font-size="9" text-anchor="middle" fill="#333">${fmt(v)}</text>`)
    })
    const cx = x0 + (SERIES.length * bar + (SERIES.length - 1) * gap) / 2
    parts.push(`<text x="${cx}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${esc(g.id)}</text>`)
    parts.push(
      `<text x="${cx}" y="${top + plotH + 30}" font-size="9" text-anchor="middle" fill="${g.overloaded ? '#c00' : '#777'}">${esc(
        `at ${g.rate}/s${g.overloaded ? ', not kept up' : ''}`,
      )}</text>`,
    )
  })
  parts.push(`<line x1="${left}" x2="${width - 16}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`)
  SERIES.forEach((s, j) => {
    const x = left + j * 70
    parts.push(`<rect x="${x}" y="${height - 20}" width="12" height="12" fill="${s.color}"/>`)
    parts.push(`<text x="${x + 16}" y="${height - 10}" font-size="11">${s.label}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

export async function writeChart(results: BenchResults, out = join(ROOT, 'docs', 'bench-latency.svg')): Promise<string> {
  await mkdir(dirname(out), { recursive: true })
  await writeFile(out, latencyChart(results))
  return out
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const input = resolve(process.argv[2] ?? join(ROOT, 'bench', 'results', 'latest.json'))
  const results = JSON.parse(await readFile(input, 'utf8')) as BenchResults
  console.log(await writeChart(results, process.argv[3] ? resolve(process.argv[3]) : undefined))
}
