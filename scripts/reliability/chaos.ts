// `npm run chaos`: crash consistency (test/reliability/lib/chaos.ts) on a SQLite file, on
// PostgreSQL with two servers, and with PostgreSQL itself crashed (every one of its processes
// SIGKILLed with Roster's, on a cluster of the run's own); then PostgreSQL stopped under load
// (lib/outage.ts).
// --cycles N SIGKILLs per store (default 20; --sqlite-cycles N and --postgres-cycles N for one
// kind of store: `--sqlite-cycles 200` is DUR-5's run), --writers N (default 32),
// --kill-min/--kill-max the load before each kill in ms (default 300 and 2000), --down-ms the
// outage (default 5000). Prints each cycle and the figures; exits 1 on any problem.
import { onPostgresDatabase, onSqliteFile } from '../../test/helpers/scratch-database.ts'
import { createCluster, postgresBin } from '../../test/helpers/pg-cluster.ts'
import { runChaos, type ChaosReport } from '../../test/reliability/lib/chaos.ts'
import { runOutage } from '../../test/reliability/lib/outage.ts'
import { numberArg, scriptStores } from './stores.ts'

const cycles = numberArg('cycles', 'CHAOS_CYCLES', 20)
const sqliteCycles = numberArg('sqlite-cycles', 'CHAOS_SQLITE_CYCLES', cycles)
const postgresCycles = numberArg('postgres-cycles', 'CHAOS_POSTGRES_CYCLES', cycles)
const writers = numberArg('writers', 'CHAOS_WRITERS', 32)
const killMin = numberArg('kill-min', 'CHAOS_KILL_MIN_MS', 300)
const killMax = numberArg('kill-max', 'CHAOS_KILL_MAX_MS', 2_000)
const downMs = numberArg('down-ms', 'CHAOS_DOWN_MS', 5_000)
let failed = false

function print(name: string, r: ChaosReport, ms: number): void {
  const byKind = Object.entries(r.writes).map(([kind, n]) => `${kind} ${n.ok}/${n.failed}/${n.unknown}`).join(', ')
  console.log(`${name}: ${r.cycles} SIGKILL cycles in ${(ms / 1000).toFixed(0)} s; writes ok/failed/unknown: ${byKind}; ` +
    `unacknowledged writes found whole ${r.unknownResolved.present}, absent ${r.unknownResolved.absent}; events ${r.events}; ` +
    `log rows of the writes ${r.log.rows} (failed writes answered with a status: row kept ${r.log.failedWithRow}, lost with the process ${r.log.failedRowLost}); statuses ${JSON.stringify(r.statuses)}`)
  console.log(`${name}: ${r.problems.length} problems (acknowledged writes lost, half-visible writes, missing or duplicate events or log rows)`)
  // By kind (ids, tags and numbers taken out), then the first 30 as they are.
  const kinds = new Map<string, number>()
  for (const p of r.problems) {
    const kind = p.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, 'ID').replace(/\bv-w\d+-\d+-[0-9a-f]+/g, 'VALUE').replace(/\bw\d+-\d+\b/g, 'TAG').replace(/\d+/g, 'N')
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${n} × ${kind}`)
  for (const p of r.problems.slice(0, 30)) console.log(`  ${p}`)
  if (r.problems.length > 0) failed = true
}

const { adminUrl, done } = await scriptStores()
try {
  await onSqliteFile('roster-chaos', async (databaseUrl) => {
    const started = Date.now()
    const r = await runChaos({ databaseUrl, servers: 1, cycles: sqliteCycles, writers, killAfterMs: [killMin, killMax], log: (l) => console.log(`sqlite ${l}`) })
    print('sqlite', r, Date.now() - started)
  })
  if (adminUrl) {
    await onPostgresDatabase(adminUrl, 'roster_chaos', async (databaseUrl) => {
      const started = Date.now()
      const r = await runChaos({ databaseUrl, servers: 2, cycles: postgresCycles, writers, killAfterMs: [killMin, killMax], log: (l) => console.log(`postgres ${l}`) })
      print('postgres (2 servers)', r, Date.now() - started)
    })
    const bin = postgresBin()
    if (bin) {
      const crashed = await createCluster(bin)
      try {
        const started = Date.now()
        const r = await runChaos({ databaseUrl: crashed.url, servers: 1, cycles: postgresCycles, writers, killAfterMs: [killMin, killMax], database: crashed, log: (l) => console.log(`postgres crashed ${l}`) })
        print('postgres crashed with roster', r, Date.now() - started)
      } finally {
        crashed.destroy()
      }
      const cluster = await createCluster(bin)
      try {
        const o = await runOutage(cluster, downMs)
        console.log(`postgres outage of ${downMs} ms under 8 clients:`)
        for (const [phase, counts] of Object.entries(o.phases)) console.log(`  ${phase}: ${JSON.stringify(counts)}`)
        console.log(`  answers during the outage other than 503 + Retry-After: ${o.badDuringOutage.length}${o.badDuringOutage.length ? ` (${o.badDuringOutage.slice(0, 5).join(' | ')})` : ''}`)
        console.log(`  first 2xx ${o.recoveryMs} ms after PostgreSQL was back; Roster restarted: ${o.rosterRestarted}; acknowledged creates ${o.acknowledged}, missing ${o.missing.length}`)
        if (o.badDuringOutage.length > 0 || o.recoveryMs === null || o.missing.length > 0 || o.rosterRestarted) failed = true
      } finally {
        cluster.destroy()
      }
    }
  }
} finally {
  done()
}
process.exit(failed ? 1 : 0)
