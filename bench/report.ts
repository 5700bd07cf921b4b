// Console output of the benchmark: one table row per phase, error samples, and the checks.
import type { Check } from './context.ts'
import type { PhaseResult } from './pool.ts'

const COLUMNS: [string, number][] = [
  ['phase', 18],
  ['count', 7],
  ['errors', 7],
  ['conc', 5],
  ['ops/s', 10],
  ['p50 ms', 9],
  ['p95 ms', 9],
  ['p99 ms', 9],
  ['max ms', 9],
  ['rss MiB', 8],
  ['cpu %', 14],
  ['steal %', 8],
]

export const HEADER = [
  COLUMNS.map(([name, width], i) => (i === 0 ? name.padEnd(width) : name.padStart(width))).join(' ') + '  notes',
  '-'.repeat(COLUMNS.reduce((n, [, w]) => n + w + 1, 0) + 6),
].join('\n')

export function formatRow(r: PhaseResult): string {
  const cells = [
    r.name,
    String(r.count),
    String(r.errors),
    String(r.concurrency),
    r.opsPerSec.toFixed(1),
    r.p50.toFixed(2),
    r.p95.toFixed(2),
    r.p99.toFixed(2),
    r.max.toFixed(2),
    r.peakRssMiB === null ? '-' : r.peakRssMiB.toFixed(1),
    cpuCell(r.cpu),
    r.cpu.stealPct === undefined ? '-' : String(r.cpu.stealPct),
  ]
  const row = cells.map((c, i) => {
    const width = COLUMNS[i]?.[1] ?? 8
    return i === 0 ? c.padEnd(width) : c.padStart(width)
  })
  const notes = Object.entries(r.notes)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')
  return `${row.join(' ')}  ${notes}`
}

/** "server(main)/client" in % of one core, e.g. "121(97)/34"; the client alone without --pid. */
function cpuCell(c: PhaseResult['cpu']): string {
  return c.serverPct === undefined ? `-/${c.clientPct}` : `${c.serverPct}(${c.serverMainPct})/${c.clientPct}`
}

export function printReport(results: PhaseResult[], checks: Check[], summary: string[]): void {
  console.log('\n=== phases ===')
  console.log(HEADER)
  for (const r of results) console.log(formatRow(r))

  const failed = results.filter((r) => r.errors > 0)
  if (failed.length > 0) {
    console.log('\n=== unexpected responses (first few per phase) ===')
    for (const r of failed) {
      console.log(`${r.name}: ${r.errors} errors by status ${JSON.stringify(r.errorsByStatus)}`)
      for (const s of r.errorSamples) console.log(`  ${s.status} ${s.request}\n    ${s.body.replace(/\n/g, ' ')}`)
    }
  }

  if (summary.length > 0) {
    console.log('\n=== summary ===')
    for (const line of summary) console.log(line)
  }

  console.log('\n=== checks ===')
  for (const c of checks) console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`)
  const failedChecks = checks.filter((c) => !c.pass).length
  console.log(`\n${checks.length - failedChecks}/${checks.length} checks passed`)
}
