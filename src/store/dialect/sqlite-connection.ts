// One better-sqlite3 connection as the SQLite store uses it: WAL mode with synchronous=FULL
// (docs/architecture.md, durability: with NORMAL a committed transaction can be lost on power
// failure; the store's writer uses NORMAL and syncs the WAL itself, sqlite-wal-sync.ts),
// roster_fold registered, statements prepared once and their rows built as objects (a Conn),
// and SQLite's errors turned into the store's.
import BetterSqlite3 from 'better-sqlite3'
import { fold } from '../../scim/fold.ts'
import type { Conn } from '../kysely/prepared.ts'
import { StoreUnavailable, UniqueViolation } from '../store.ts'

export type Db = BetterSqlite3.Database

export function openConnection(path: string, busyTimeoutMs: number): Db {
  const db = new BetterSqlite3(path)
  db.pragma(`busy_timeout = ${busyTimeoutMs}`)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.function('roster_fold', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? fold(v) : v))
  return db
}

interface Cached {
  readonly stmt: BetterSqlite3.Statement
  /** For a statement that returns rows: a row array (raw mode) as the object of its columns. */
  readonly make: ((r: unknown[]) => unknown) | null
}

/**
 * Prepared statements cached by SQL text: preparing is most of a small query's cost. A
 * statement that returns rows runs in raw mode (rows as arrays), and each row becomes an object
 * through a function made for its columns: better-sqlite3 builds row objects by setting one
 * property at a time through V8's API, which was a third of a 100-row page's statement time
 * (156 → 104 µs a page measured on 20,000 users).
 */
function statementCache(db: Db): (sqlText: string) => Cached {
  const cache = new Map<string, Cached>()
  return (sqlText) => {
    let c = cache.get(sqlText)
    if (!c) {
      const stmt = db.prepare(sqlText)
      c = { stmt: stmt.reader ? stmt.raw(true) : stmt, make: stmt.reader ? rowMaker(stmt.columns().map((col) => col.name)) : null }
      // Filter queries vary in shape; bound the cache rather than let it grow with them.
      if (cache.size >= 2_000) cache.clear()
      cache.set(sqlText, c)
    }
    return c
  }
}

/** `(r) => ({ [names[0]]: r[0], … })`, written as an object literal (one shape, built at once). */
function rowMaker(names: readonly string[]): (r: unknown[]) => unknown {
  // Column names come from the store's own SQL; JSON.stringify quotes each as a property name.
  // A name given twice keeps its last column, as better-sqlite3's own row objects do.
  return new Function('r', `return {${names.map((n, i) => `${JSON.stringify(n)}: r[${i}]`).join(', ')}}`) as (r: unknown[]) => unknown
}

/** A Conn over one better-sqlite3 connection. Calls run synchronously; the promise is for the interface. */
export function sqliteConn(db: Db): Conn {
  const prepare = statementCache(db)
  return {
    all<R>(sqlText: string, params: readonly unknown[]) {
      const { stmt, make } = prepare(sqlText)
      if (!make) {
        stmt.run(params)
        return Promise.resolve([] as R[])
      }
      return Promise.resolve((stmt.all(params) as unknown[][]).map(make) as R[])
    },
    run(sqlText: string, params: readonly unknown[]) {
      return Promise.resolve(prepare(sqlText).stmt.run(params).changes)
    },
  }
}

/** Turns SQLite errors into the store's: unique violations, and lock/IO trouble as 503. */
export function mapSqliteError(e: unknown): unknown {
  if (!(e instanceof Error) || !('code' in e) || typeof e.code !== 'string') return e
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const what = /user_name_folded/.test(e.message) ? 'userName' : /display_name_folded/.test(e.message) ? 'displayName' : /orgs\.name_folded/.test(e.message) ? 'org' : 'other'
    return new UniqueViolation(what, { cause: e })
  }
  if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(e.code)) return new StoreUnavailable(`database unavailable (${e.code})`, { cause: e })
  return e
}
