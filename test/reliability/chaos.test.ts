// Crash consistency, short (lib/chaos.ts): 16 writers, the server killed with SIGKILL twice and
// restarted on a SQLite file. No acknowledged write lost, nothing half-visible, every event
// exactly once. `npm run chaos` runs 20 kills on SQLite and on PostgreSQL with two servers, and
// PostgreSQL stopped under load (docs/reliability.md has its last figures); it stays out of
// `npm test` for time (each PostgreSQL cycle starts servers anew).
import { describe, expect, it } from 'vitest'
import { onSqliteFile } from '../helpers/scratch-database.ts'
import { runChaos } from './lib/chaos.ts'

describe('crash consistency under SIGKILL', () => {
  it('on sqlite: 2 kills, no acknowledged write lost, nothing half-visible, every event once', async () => {
    const r = await onSqliteFile('roster-chaos', (databaseUrl) => runChaos({ databaseUrl, servers: 1, cycles: 2, writers: 16, killAfterMs: [300, 700] }))
    console.log(`[chaos] sqlite: ${JSON.stringify(r.writes)}, events ${r.events}`)
    expect(r.problems).toEqual([])
    expect(r.writes.users.ok).toBeGreaterThan(0)
    expect(r.writes.members.ok).toBeGreaterThan(0)
  }, 60_000)
})
