// `npm run lost-answers`: lost answers at full size (test/reliability/lib/lost-answers.ts,
// docs/architecture.md DUR-4): --kills N SIGKILLs per store (default 1,000), --writers N POST
// /Users in flight (default 16), --kill-min/--kill-max the load before each kill in ms (default
// 50 and 400), on a SQLite file and on PostgreSQL (--store sqlite or --store postgres for one of
// them). Each unknown create gets an identity provider's next move (a lookup then a create, or the
// same POST again). Prints the figures; exits 1 on any problem.
import { onPostgresDatabase, onSqliteFile } from '../../test/helpers/scratch-database.ts'
import { runLostAnswers, type LostAnswersOptions, type LostAnswersReport } from '../../test/reliability/lib/lost-answers.ts'
import { numberArg, scriptStores } from './stores.ts'

const kills = numberArg('kills', 'LOST_ANSWERS_KILLS', 1_000)
const writers = numberArg('writers', 'LOST_ANSWERS_WRITERS', 16)
const killAfterMs = [numberArg('kill-min', 'LOST_ANSWERS_KILL_MIN_MS', 50), numberArg('kill-max', 'LOST_ANSWERS_KILL_MAX_MS', 400)] as const
const storeAt = process.argv.indexOf('--store')
const only = storeAt >= 0 ? process.argv[storeAt + 1] : undefined
if (only !== undefined && only !== 'sqlite' && only !== 'postgres') throw new Error(`--store must be sqlite or postgres, not ${only}`)
if (only === 'sqlite') process.env.ROSTER_TEST_NO_POSTGRES = '1'
let failed = false

async function one(name: string, databaseUrl: string): Promise<void> {
  const opts: LostAnswersOptions = { databaseUrl, kills, writers, killAfterMs, log: (l) => console.log(`${name}: ${l}`) }
  const started = Date.now()
  const r: LostAnswersReport = await runLostAnswers(opts)
  const { committed, notCommitted, byMove } = r.unknown
  console.log(`${name}: ${r.kills} SIGKILLs in ${((Date.now() - started) / 1000).toFixed(0)} s; creates acknowledged ${r.creates.acknowledged}, refused ${r.creates.refused}, unknown ${r.creates.unknown}`)
  console.log(`${name}: unknown creates found committed ${committed}, not committed ${notCommitted}; by the next move ${JSON.stringify(byMove)}; statuses ${JSON.stringify(r.statuses)}`)
  console.log(`${name}: ${r.problems.length} problems (second users, lookups that missed a committed create, acknowledged creates missing)`)
  for (const p of r.problems.slice(0, 30)) console.log(`  ${p}`)
  if (r.problems.length > 0) failed = true
}

const { adminUrl, done } = await scriptStores()
try {
  if (only !== 'postgres') await onSqliteFile('roster-lost', (url) => one('sqlite', url))
  if (adminUrl && only !== 'sqlite') await onPostgresDatabase(adminUrl, 'roster_lost', (url) => one('postgres', url))
} finally {
  done()
}
process.exit(failed ? 1 : 0)
