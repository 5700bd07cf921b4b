// `npm run fuzz`: filter and PATCH fuzzing (test/reliability/lib/fuzz.ts) at full size on SQLite
// and PostgreSQL. --count N inputs (default 1,000,000; FUZZ_COUNT), each judged in process;
// every filter the evaluator accepts goes to both stores through the HTTP app, and of those it
// refuses every K-th (--refused-http-every K, default 10); --patch-http-every K sends every K-th
// PATCH body (default 100); --seed S replays (FUZZ_SEED); --max-minutes M begins no input after
// M minutes (the run then reports how many it ran).
// Prints progress every 10,000 inputs and the totals; exits 1 on any crash, 5xx or mismatch.
import { prng } from '../../test/helpers/filter-fuzz.ts'
import { openFuzzStore, runFuzz, type FuzzStats, type FuzzStore } from '../../test/reliability/lib/fuzz-run.ts'
import { numberArg, scriptStores } from './stores.ts'

const count = numberArg('count', 'FUZZ_COUNT', 1_000_000)
const refusedHttpEvery = numberArg('refused-http-every', 'FUZZ_REFUSED_HTTP_EVERY', 10)
const patchHttpEvery = numberArg('patch-http-every', 'FUZZ_PATCH_HTTP_EVERY', 100)
const seed = numberArg('seed', 'FUZZ_SEED', Math.floor(Math.random() * 2 ** 31))
const maxMinutes = numberArg('max-minutes', 'FUZZ_MAX_MINUTES', 0)
const { stores: factories, done } = await scriptStores()
const stores: FuzzStore[] = []
const started = Date.now()
const summary = (s: FuzzStats) => JSON.stringify({ ...s, crashes: s.crashes.length, fiveHundreds: s.fiveHundreds.length, mismatches: s.mismatches.length, notAtomic: s.notAtomic.length })
let stats: FuzzStats
try {
  for (const f of factories) stores.push(await openFuzzStore(f))
  console.log(`fuzz: ${count} inputs, seed ${seed}, stores ${stores.map((s) => s.name).join(' and ')}, every accepted filter, every ${refusedHttpEvery}th refused one and every ${patchHttpEvery}th PATCH over HTTP`)
  stats = await runFuzz(stores, prng(seed), {
    count, refusedHttpEvery, patchHttpEvery, ...(maxMinutes > 0 ? { stopAtMs: started + maxMinutes * 60_000 } : {}),
    onProgress: (s) => {
      if (s.inputs % 100_000 === 0 || s.inputs === 10_000) console.log(`${s.inputs} inputs in ${((Date.now() - started) / 1000).toFixed(0)} s: ${summary(s)}`)
    },
  })
} finally {
  for (const s of stores) await s.t.close()
  done()
}
if (stats.inputs < count) console.log(`stopped at the ${maxMinutes}-minute budget after ${stats.inputs} of ${count} inputs`)
console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${summary(stats)}`)
for (const line of [...stats.crashes, ...stats.fiveHundreds, ...stats.mismatches, ...stats.notAtomic].slice(0, 30)) console.log(`  ${line.slice(0, 600)}`)
process.exit(stats.crashes.length + stats.fiveHundreds.length + stats.mismatches.length + stats.notAtomic.length > 0 ? 1 : 0)
