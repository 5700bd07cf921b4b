// Costly queries against a bystander, short (lib/costly.ts, docs/architecture.md INP-4): 2,000
// users in organization A, four of A's dearest lists in flight for four seconds under a one-second
// deadline, organization B looking its users up meanwhile; on a SQLite file with two read workers
// (what docs/security.md asks of a multi-tenant SQLite deployment) and on PostgreSQL. No page past
// `maxResults`, no 5xx but 503 with Retry-After, every one of B's lookups answered with its user.
// `npm run costly` is the full size (100,000 users; docs/reliability.md has its last figures).
import { describe, expect, it } from 'vitest'
import { onPostgresDatabase, onSqliteFile } from '../helpers/scratch-database.ts'
import { describeCostly, runCostly, type CostlyReport } from './lib/costly.ts'

const SHORT = { users: 2_000, durationMs: 4_000, inFlight: 4 }
const SERVER_ENV = { ROSTER_SQLITE_READ_WORKERS: '2', ROSTER_REQUEST_DEADLINE_MS: '1000' }

function expectSound(name: string, r: CostlyReport): void {
  for (const line of describeCostly(name, r)) console.log(`[costly] ${line}`)
  expect(r.problems).toEqual([])
  expect(r.maxResults).toBe(1_000)
  // Every kind of costly request was made, and B's lookups ran while they did.
  for (const [kind, t] of Object.entries(r.kinds)) expect(t.requests, kind).toBeGreaterThan(0)
  expect(r.bystander.requests).toBeGreaterThan(10)
}

describe('costly queries against a bystander', () => {
  it('on sqlite with two read workers', async () => {
    expectSound('sqlite', await onSqliteFile('roster-costly', (databaseUrl) => runCostly({ ...SHORT, databaseUrl, env: SERVER_ENV })))
  }, 90_000)

  it.runIf(process.env.TEST_DATABASE_URL)('on postgres', async () => {
    expectSound('postgres', await onPostgresDatabase(process.env.TEST_DATABASE_URL as string, 'roster_costly', (databaseUrl) => runCostly({ ...SHORT, databaseUrl, env: SERVER_ENV })))
  }, 120_000)
})
