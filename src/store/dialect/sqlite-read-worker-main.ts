// A read worker: its own read-only connection to the SQLite file, answering queries the main
// thread sends, so that scans (counting a large filter's matches, skipping to a far page,
// listing a group's 50,000 members) run beside the event loop instead of blocking it. In WAL
// mode each statement reads the latest committed state, as a main-thread read would.
import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'
import { fold } from '../../scim/fold.ts'

export interface ReadRequest { readonly id: number; readonly sql: string; readonly params: readonly unknown[] }
export type ReadResponse =
  | { readonly id: number; readonly rows: unknown[] }
  | { readonly id: number; readonly error: { readonly code: string | null; readonly message: string } }

const { path, busyTimeoutMs } = workerData as { path: string; busyTimeoutMs: number }
const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true })
db.pragma(`busy_timeout = ${busyTimeoutMs}`)
db.function('roster_fold', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? fold(v) : v))
const cache = new Map<string, BetterSqlite3.Statement>()

parentPort?.on('message', (req: ReadRequest) => {
  let res: ReadResponse
  try {
    let stmt = cache.get(req.sql)
    if (!stmt) {
      stmt = db.prepare(req.sql)
      if (cache.size >= 2_000) cache.clear()
      cache.set(req.sql, stmt)
    }
    res = { id: req.id, rows: stmt.all(req.params as unknown[]) }
  } catch (e) {
    const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : null
    res = { id: req.id, error: { code, message: e instanceof Error ? e.message : String(e) } }
  }
  parentPort?.postMessage(res)
})
parentPort?.postMessage({ ready: true })
