// Lost answers, short (lib/lost-answers.ts, docs/architecture.md DUR-4): POST /Users from 16
// writers, the server killed with SIGKILL a few times, each unknown create followed by an
// identity provider's next move (a lookup then a create, or the same POST again). Never a second
// user, never a committed create the lookup misses, every acknowledged create present.
// `npm run lost-answers` is the full size (1,000 kills a store; docs/reliability.md).
import { describe, expect, it } from 'vitest'
import { onPostgresDatabase, onSqliteFile } from '../helpers/scratch-database.ts'
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
  it('on sqlite', async () => {
    expectSound('sqlite', await onSqliteFile('roster-lost', (databaseUrl) => runLostAnswers({ ...SHORT, databaseUrl })))
  }, 90_000)

  it.runIf(process.env.TEST_DATABASE_URL)('on postgres', async () => {
    expectSound('postgres', await onPostgresDatabase(process.env.TEST_DATABASE_URL as string, 'roster_lost', (databaseUrl) => runLostAnswers({ ...SHORT, databaseUrl })))
  }, 90_000)
})
