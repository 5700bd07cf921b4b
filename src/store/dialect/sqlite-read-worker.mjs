// A SQLite read worker: its own read-only connection to the database file, answering the
// queries the main thread sends, so that scans (counting a large filter's matches, skipping to
// a far page, listing a group's 50,000 members) run beside the event loop instead of blocking
// it. In WAL mode each statement reads the latest committed state, as a main-thread read would.
// Plain JavaScript: a worker's entry must be, and loading TypeScript here would cost the
// process tens of MiB. roster_fold repeats src/scim/fold.ts; sqlite-read-pool.test.ts checks
// that the two agree.
import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'

const { path, busyTimeoutMs } = workerData
const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true })
db.pragma(`busy_timeout = ${busyTimeoutMs}`)
db.function('roster_fold', { deterministic: true }, (v) => (typeof v === 'string' ? v.normalize('NFKC').toLowerCase() : v))
const cache = new Map()

parentPort.on('message', (req) => {
  let res
  try {
    let stmt = cache.get(req.sql)
    if (!stmt) {
      stmt = db.prepare(req.sql)
      if (cache.size >= 2000) cache.clear()
      cache.set(req.sql, stmt)
    }
    res = { id: req.id, rows: stmt.all(req.params) }
  } catch (e) {
    res = { id: req.id, error: { code: typeof e?.code === 'string' ? e.code : null, message: e instanceof Error ? e.message : String(e) } }
  }
  parentPort.postMessage(res)
})
parentPort.postMessage({ ready: true })
