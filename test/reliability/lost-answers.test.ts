// Lost answers, short (lib/lost-answers.ts, docs/architecture.md DUR-4): POST /Users from 16
// writers, the server killed with SIGKILL a few times, each unknown create followed by an
// identity provider's next move (a lookup then a create, or the same POST again). Never a second
// user, never a committed create the lookup misses, every acknowledged create present.
// `npm run lost-answers` is the full size (1,000 kills a store; docs/reliability.md).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { runLostAnswers, type LostAnswersReport } from './lib/lost-answers.ts'

const SHORT = { kills: 4, writers: 16, killAfterMs: [100, 400] as const }

function expectSound(name: string, r: LostAnswersReport): void {
  console.log(`[lost-answers] ${name}: ${JSON.stringify(r)}`)
  expect(r.problems).toEqual([])
  expect(r.kills).toBe(SHORT.kills)
  expect(r.creates.acknowledged).toBeGreaterThan(0)
  // Each kill left creates in flight, resolved by the next moves.
  expect(r.creates.unknown).toBeGreaterThan(0)
  expect(r.unknown.committed + r.unknown.notCommitted).toBe(r.creates.unknown)
}

describe('lost answers to POST /Users under SIGKILL', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('on sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-lost-'))
    dirs.push(dir)
    expectSound('sqlite', await runLostAnswers({ ...SHORT, databaseUrl: `sqlite:${join(dir, 'roster.db')}` }))
  }, 90_000)

  it.runIf(process.env.TEST_DATABASE_URL)('on postgres', async () => {
    const db = await createTestDatabase(process.env.TEST_DATABASE_URL as string, 'roster_lost')
    try {
      expectSound('postgres', await runLostAnswers({ ...SHORT, databaseUrl: db.url }))
    } finally {
      await db.drop()
    }
  }, 90_000)
})
