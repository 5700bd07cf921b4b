// Prints a benchmark run's JSON (run.ts --json) as a markdown table, for bench/RESULTS.md.
//   node --import tsx bench/table.ts out.json
import { readFileSync } from 'node:fs'

interface Phase { name: string; count: number; errors: number; opsPerSec: number; p50: number; p95: number; p99: number; peakRssMiB: number | null; peakRssMiBByServer?: number[]; cpu?: { clientPct: number; serverPct?: number; serverMainPct?: number; stealPct?: number }; notes: Record<string, unknown> }
const run = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as { phases: Phase[]; summary: string[]; rss: unknown }
console.log('| phase | requests | errors | ops/s | p50 ms | p95 ms | p99 ms | server RSS MiB | CPU % server (event loop) / client | steal % | notes |')
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|')
for (const p of run.phases) {
  const notes = Object.entries(p.notes).map(([k, v]) => `${k} ${String(v)}`).join(', ')
  // Several servers: each one's peak, "a / b".
  const rss = p.peakRssMiBByServer?.join(' / ') ?? p.peakRssMiB ?? ''
  // Runs recorded before the bench measured CPU have no `cpu`.
  const cpu = p.cpu === undefined ? '' : p.cpu.serverPct === undefined ? `- / ${p.cpu.clientPct}` : `${p.cpu.serverPct} (${p.cpu.serverMainPct}) / ${p.cpu.clientPct}`
  // Runs recorded before the bench read the machine's steal time have none.
  const steal = p.cpu?.stealPct ?? ''
  console.log(`| ${p.name} | ${p.count} | ${p.errors} | ${Math.round(p.opsPerSec)} | ${p.p50} | ${p.p95} | ${p.p99} | ${rss} | ${cpu} | ${steal} | ${notes} |`)
}
console.log('')
for (const line of run.summary) console.log(`    ${line}`)
