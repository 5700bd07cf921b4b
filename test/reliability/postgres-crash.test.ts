// PostgreSQL crashed under load (docs/architecture.md DUR-7): every process of a PostgreSQL server
// of the test's own is SIGKILLed together with Roster, twice, while 16 writers create, PATCH,
// deactivate and delete users and add and remove members (lib/chaos.ts); PostgreSQL recovers from
// its WAL and Roster starts again. No acknowledged write is lost (Roster answers after COMMIT
// returns, and the server flushes the WAL before it does), nothing is half-visible, every event
// and every write's provisioning-log row is there once, no write is answered 500 (a dead
// connection is a 503). `npm run chaos` runs 20 such crashes.
import { describe, expect, it } from 'vitest'
import { createCluster, postgresBin } from '../helpers/pg-cluster.ts'
import { runChaos } from './lib/chaos.ts'

const bin = postgresBin()

describe.skipIf(!bin)('PostgreSQL crashed with Roster under load', () => {
  it('2 crashes: no acknowledged write lost, nothing half-visible, every event once', async () => {
    const cluster = await createCluster(bin as string)
    try {
      const r = await runChaos({ databaseUrl: cluster.url, servers: 1, cycles: 2, writers: 16, killAfterMs: [400, 900], database: cluster })
      console.log(`[chaos] postgres crashed: ${JSON.stringify(r.writes)}, events ${r.events}`)
      expect(r.problems).toEqual([])
      expect(r.writes.users.ok).toBeGreaterThan(0)
      expect(r.writes.members.ok).toBeGreaterThan(0)
    } finally {
      cluster.destroy()
    }
  }, 120_000)
})
