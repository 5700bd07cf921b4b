// Model-based test (fast-check): random sequences of SCIM writes (users and groups created,
// replaced, patched, deleted; members added, removed, replaced, also with another organization's
// users) and reads (SCIM, filters, the directory API) on three organizations of one server,
// each answer checked against an in-memory model, and the touched organization's whole state
// (SCIM lists and the directory API) compared with the model after every step, the others at
// the end. A failure is shrunk and printed with its seed and its steps as JSON; the steps go
// into model-regressions.json, which is replayed on every run. MODEL_SEED=<n> replays a run,
// MODEL_RUNS=<n> changes the number of sequences.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { injectSender } from './lib/inject.ts'
import { checkOrg, command, newWorld, stepArb, type Step } from './lib/model.ts'

const SEED = Number(process.env.MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31))
const RUNS = Number(process.env.MODEL_RUNS ?? 12)
const REGRESSIONS = JSON.parse(readFileSync(join(import.meta.dirname, 'model-regressions.json'), 'utf8')) as { why: string; steps: Step[] }[]

describe.each(storeMatrix())('SCIM against the model on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  async function runSequence(steps: readonly fc.AsyncCommand<Parameters<typeof checkOrg>[0], Parameters<typeof checkOrg>[1]>[]): Promise<void> {
    const world = await newWorld(t.deps, injectSender(t.app))
    await fc.asyncModelRun(() => world, steps)
    for (let i = 0; i < world.real.orgs.length; i++) await checkOrg(world.model, world.real, i, 'at the end')
  }

  it(`${RUNS} random sequences agree with the model (seed ${SEED})`, async () => {
    console.log(`[model] ${factory.name}: MODEL_SEED=${SEED}`)
    await fc.assert(fc.asyncProperty(fc.commands([stepArb.map(command)], { maxCommands: 40 }), async (cmds) => runSequence([...cmds])), { seed: SEED, numRuns: RUNS, verbose: 1 })
  }, 120_000)

  it.each(REGRESSIONS.map((r) => [r.why, r.steps] as const))('regression: %s', async (_why, steps) => {
    await runSequence(steps.map(command))
  })

  it('the model can fail: a step whose answer the model does not expect is reported', async () => {
    const world = await newWorld(t.deps, injectSender(t.app))
    await fc.asyncModelRun(() => world, [command({ op: 'createUser', org: 0, name: 0, active: true })])
    // The model forgets the user: the server's list now holds one it does not know.
    world.model.orgs[0]?.users.clear()
    await expect(checkOrg(world.model, world.real, 0, 'tampered')).rejects.toThrow(/SCIM users differ from the model/)
  })
})
