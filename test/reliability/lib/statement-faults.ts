// Fails the k-th statement of the writes a test sends, for DUR-10 (docs/architecture.md): the
// statements of the write transactions that run while the faults are armed are counted, and
// statement k throws the error a full disk gives (SQLITE_FULL; PostgreSQL's 53100 disk_full).
// The seam exists only in the test process: better-sqlite3's Database.exec and Statement run/all/get
// and pg's Client.query are wrapped for an in-process server, and put back by uninstall(). A
// write unit is one group-commit savepoint on SQLite ("SAVEPOINT job" … "RELEASE job"), one
// BEGIN … COMMIT on PostgreSQL; units begun before arming, and the store's own background units
// (the provisioning log's appender, the PostgreSQL event stamper, API keys' last use), are not
// counted.
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'

/** A unit's first statement that marks it as the store's background work, not the request's. */
const BACKGROUND = /pg_advisory_xact_lock|^insert into "provisioning_log"|^update "api_keys"|^delete from "provisioning_log"/i

export interface CountedStatement {
  readonly sql: string
  /** Which counted unit (0, 1, …) it ran in since arming. */
  readonly unit: number
  /** The SQLite batch (BEGIN IMMEDIATE) it ran in; 0 on PostgreSQL. */
  readonly batch: number
}

interface Unit { index: number; readonly batch: number; background: boolean | null }

export interface StatementFaults {
  /** Count the statements of write units begun from now on; fail the `failAt`-th (1-based; 0: none). */
  arm(failAt: number): void
  /** Stops counting; the statements counted since arm(), in order. */
  disarm(): CountedStatement[]
  /** The failures thrown since arm(). */
  readonly thrown: () => number
  uninstall(): void
}

export function diskFull(kind: 'sqlite' | 'postgres'): Error {
  return kind === 'sqlite'
    ? Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    : Object.assign(new Error('could not extend file: No space left on device'), { code: '53100' })
}

export function installStatementFaults(): StatementFaults {
  let armed = false
  let failAt = 0
  let thrown = 0
  let units = 0
  let counted: CountedStatement[] = []
  const open = new Map<object, Unit>()
  const batches = new Map<object, number>()

  /** Counts a statement of `owner`'s open unit; true when it is the one to fail. */
  const fails = (owner: object, sql: string): boolean => {
    const unit = open.get(owner)
    if (!armed || unit === undefined) return false
    if (unit.background === null) {
      unit.background = BACKGROUND.test(sql.trim())
      if (!unit.background) unit.index = units++
    }
    if (unit.background) return false
    counted.push({ sql, unit: unit.index, batch: unit.batch })
    if (counted.length !== failAt) return false
    thrown++
    return true
  }
  const begin = (owner: object, batch: number) => {
    if (armed) open.set(owner, { index: -1, batch, background: null })
  }
  const end = (owner: object) => {
    open.delete(owner)
  }

  const dbProto = BetterSqlite3.prototype as unknown as { exec(this: object, sql: string): unknown }
  const origExec = dbProto.exec
  dbProto.exec = function (sql) {
    if (sql === 'BEGIN IMMEDIATE') batches.set(this, (batches.get(this) ?? 0) + 1)
    if (sql === 'SAVEPOINT job') begin(this, batches.get(this) ?? 0)
    const r = origExec.call(this, sql)
    if (sql === 'RELEASE job' || sql === 'ROLLBACK TO job' || sql === 'ROLLBACK' || sql === 'COMMIT') end(this)
    return r
  }
  const probe = new BetterSqlite3(':memory:')
  const stmtProto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<'run' | 'all' | 'get', (this: { database: object; source: string }, ...a: unknown[]) => unknown>
  probe.close()
  const origStmt = { run: stmtProto.run, all: stmtProto.all, get: stmtProto.get }
  for (const name of ['run', 'all', 'get'] as const) {
    const orig = origStmt[name]
    stmtProto[name] = function (...a) {
      if (fails(this.database, this.source)) throw diskFull('sqlite')
      return orig.apply(this, a)
    }
  }

  const clientProto = pg.Client.prototype as unknown as { query: (this: object, ...a: unknown[]) => unknown }
  const origQuery = clientProto.query
  clientProto.query = function (...a) {
    const q = a[0]
    const text = typeof q === 'string' ? q : typeof q === 'object' && q !== null && 'text' in q ? String(q.text) : ''
    const verb = text.trim().toLowerCase()
    // The store's BEGIN comes with the transaction's id in one round trip: 'begin; select txid_current()…'.
    if (verb === 'begin' || verb.startsWith('begin;')) begin(this, 0)
    else if (verb === 'commit' || verb === 'rollback') end(this)
    else if (fails(this, text)) return Promise.reject(diskFull('postgres'))
    return origQuery.apply(this, a)
  }

  return {
    arm(k) {
      armed = true
      failAt = k
      thrown = 0
      units = 0
      counted = []
    },
    disarm() {
      armed = false
      open.clear()
      return counted
    },
    thrown: () => thrown,
    uninstall() {
      dbProto.exec = origExec
      Object.assign(stmtProto, origStmt)
      clientProto.query = origQuery
    },
  }
}
