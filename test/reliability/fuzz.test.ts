// Filter and PATCH fuzzing (RFC 7644 §3.4.2.2, §3.5.2; lib/fuzz.ts says how inputs are made and
// judged): 10,000 inputs, each through the parser, the reference evaluator and PATCH application
// in process, one filter in ten and one PATCH in fifty through the HTTP app on each store. 0 crashes,
// 0 5xx, and every filter gets from each store what the evaluator answers. `npm run fuzz` runs
// 1,000,000; FUZZ_SEED=<n> replays a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prng } from '../helpers/filter-fuzz.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { openFuzzStore, runFuzz, type FuzzStore } from './lib/fuzz-run.ts'

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000)

describe('filter and PATCH fuzzing on every store', () => {
  const stores: FuzzStore[] = []
  beforeAll(async () => {
    for (const f of storeMatrix()) stores.push(await openFuzzStore(f))
  })
  afterAll(async () => {
    for (const s of stores) await s.t.close()
  })

  it(`${COUNT} inputs: no crash, no 5xx, the stores agree with the evaluator (seed ${SEED})`, async () => {
    console.log(`[fuzz] stores ${stores.map((s) => s.name).join(', ')}: FUZZ_SEED=${SEED}`)
    const stats = await runFuzz(stores, prng(SEED), { count: COUNT, refusedHttpEvery: 10, patchHttpEvery: 50 })
    console.log(`[fuzz] ${JSON.stringify({ ...stats, crashes: stats.crashes.length, fiveHundreds: stats.fiveHundreds.length, mismatches: stats.mismatches.length, notAtomic: stats.notAtomic.length })}`)
    expect(stats.inputs).toBe(COUNT)
    // Every filter the evaluator accepted was compared with what each store returned.
    expect(stats.filters.acceptedOnStores).toBe(stats.filters.accepted)
    expect(stats.crashes.slice(0, 5), `FUZZ_SEED=${SEED}`).toEqual([])
    expect(stats.fiveHundreds.slice(0, 5), `FUZZ_SEED=${SEED}`).toEqual([])
    expect(stats.mismatches.slice(0, 10), `FUZZ_SEED=${SEED}`).toEqual([])
    expect(stats.notAtomic.slice(0, 5), `FUZZ_SEED=${SEED}`).toEqual([])
    // The inputs reach both sides of the parser and of PATCH, and the stores answer filters.
    expect(stats.filters.accepted).toBeGreaterThan(stats.filters.total * 0.3)
    expect(stats.filters.refused).toBeGreaterThan(stats.filters.total * 0.1)
    expect(stats.patches.applied).toBeGreaterThan(stats.patches.total * 0.2)
    expect(stats.patches.refused).toBeGreaterThan(stats.patches.total * 0.1)
  }, 120_000)
})
