// Crash consistency, short (lib/chaos.ts; `npm run chaos` runs 20 cycles and PostgreSQL stopped
// under load): 16 writers, the server killed with SIGKILL twice and restarted, on a SQLite file
// and on PostgreSQL with two servers. No acknowledged write lost, nothing half-visible, every
// event exactly once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/pg-database.ts'
import { runChaos } from './lib/chaos.ts'

const adminUrl = process.env.TEST_DATABASE_URL

describe('crash consistency under SIGKILL', () => {
  it('on sqlite: 2 kills, no acknowledged write lost, nothing half-visible, every event once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-chaos-'))
    try {
      const r = await runChaos({ databaseUrl: `sqlite:${join(dir, 'roster.db')}`, servers: 1, cycles: 2, writers: 16, killAfterMs: [300, 700] })
      console.log(`[chaos] sqlite: ${JSON.stringify(r.writes)}, events ${r.events}`)
      expect(r.problems).toEqual([])
      expect(r.writes.users.ok).toBeGreaterThan(0)
      expect(r.writes.members.ok).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it.skipIf(!adminUrl)('on postgres with two servers: 2 kills, the same guarantees', async () => {
    const db = await createTestDatabase(adminUrl as string, 'roster_chaos')
    try {
      const r = await runChaos({ databaseUrl: db.url, servers: 2, cycles: 2, writers: 16, killAfterMs: [300, 700] })
      console.log(`[chaos] postgres: ${JSON.stringify(r.writes)}, events ${r.events}`)
      expect(r.problems).toEqual([])
      expect(r.writes.users.ok).toBeGreaterThan(0)
    } finally {
      await db.drop()
    }
  }, 60_000)
})
