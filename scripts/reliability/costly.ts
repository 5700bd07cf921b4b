// `npm run costly`: costly queries against a bystander at full size (test/reliability/lib/costly.ts,
// docs/architecture.md INP-4): organization A holds --users users (default 100,000) and keeps
// --in-flight (default 4) of SCIM's dearest lists in flight for --seconds (default 30) while
// organization B looks its own users up, one request at a time. Runs on a SQLite file with two read
// workers, on one with none (the default configuration, where nothing can stop a scan on the event
// loop: figures only, B's answers are not held to anything there), and on PostgreSQL. The server
// keeps its default deadline (15 s) unless ROSTER_REQUEST_DEADLINE_MS is set. Prints the figures;
// exits 1 on any problem in a configuration that is held to them.
import { onPostgresDatabase, onSqliteFile } from '../../test/helpers/scratch-database.ts'
import { describeCostly, runCostly, type CostlyOptions } from '../../test/reliability/lib/costly.ts'
import { numberArg, scriptStores } from './stores.ts'

const users = numberArg('users', 'COSTLY_USERS', 100_000)
const durationMs = numberArg('seconds', 'COSTLY_SECONDS', 30) * 1000
const inFlight = numberArg('in-flight', 'COSTLY_IN_FLIGHT', 4)
const deadline: Record<string, string> = process.env.ROSTER_REQUEST_DEADLINE_MS ? { ROSTER_REQUEST_DEADLINE_MS: process.env.ROSTER_REQUEST_DEADLINE_MS } : {}
let failed = false

async function one(name: string, databaseUrl: string, env: Record<string, string>, held: boolean): Promise<void> {
  const opts: CostlyOptions = { databaseUrl, users, durationMs, inFlight, env: { ...deadline, ...env }, log: (l) => console.log(`${name}: ${l}`) }
  const r = await runCostly(opts)
  for (const line of describeCostly(name, r)) console.log(line)
  if (held && r.problems.length > 0) failed = true
}

const { adminUrl, done } = await scriptStores()
try {
  for (const [name, workers, held] of [['sqlite, 2 read workers', '2', true], ['sqlite, no read workers (the default)', '0', false]] as const) {
    await onSqliteFile('roster-costly', (url) => one(name, url, { ROSTER_SQLITE_READ_WORKERS: workers }, held))
  }
  if (adminUrl) await onPostgresDatabase(adminUrl, 'roster_costly', (url) => one('postgres', url, {}, true))
} finally {
  done()
}
process.exit(failed ? 1 : 0)
