// The embedded SQLite store: better-sqlite3 in WAL mode, one writer connection and one reader
// connection (sqlite-connection.ts). The writer's transactions are group-committed
// (sqlite-group-commit.ts) and made durable by an fsync of the WAL off the event loop
// (sqlite-wal-sync.ts); a read is answered only once every commit it could have seen is
// durable (driver.read below), so nothing leaves the server that a crash could take back;
// scanning reads may run on worker threads
// (sqlite-read-pool.ts); a background thread checkpoints the WAL and writes the log file
// (sqlite-background-worker.ts). openSqliteStore puts them together as a StoreDriver.
import { registerPool } from '../../ops/store-stats.ts'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { Kysely, SqliteDialect } from 'kysely'
import { KyselyStore } from '../kysely/kysely-store.ts'
import type { Database } from '../kysely/schema.ts'
import { observedDriver, type StatementObserver } from '../kysely/observed.ts'
import type { StoreDriver } from '../kysely/store-driver.ts'
import { migrateToLatest } from '../migrations/index.ts'
import { BackgroundWorker, logFileDriver } from './sqlite-background-worker.ts'
import { mapSqliteError, openConnection, sqliteConn } from './sqlite-connection.ts'
import { dataVersionOf, GroupCommitter } from './sqlite-group-commit.ts'
import { logFilePath } from './sqlite-log-file.mjs'
import { SqliteReadPool } from './sqlite-read-pool.ts'
import { sqliteSql } from './sqlite-sql.ts'
import { WalSync, type SyncFile } from './sqlite-wal-sync.ts'

export interface SqliteOptions {
  readonly path: string
  /** How long a connection waits for another process's lock before the request gets 503. */
  readonly busyTimeoutMs?: number
  /** Most requests' work in one commit. */
  readonly maxBatch?: number
  readonly migrate?: boolean
  /** The writer's page cache in MiB (SQLite's default is 2 MiB). */
  readonly writerCacheMiB?: number
  /** Worker threads for reads that may scan (0: all reads on the event loop). */
  readonly readWorkers?: number
  /** Longest a scanning read may run before it is stopped and answered 503. */
  readonly statementTimeoutMs?: number
  /** Checkpoint the WAL on a worker thread, so commits seldom wait for one. */
  readonly backgroundCheckpoint?: boolean
  /** How the WAL is synced to disk (fs.fsync): a test passes one that holds back or fails. */
  readonly syncFile?: SyncFile
  /** Sees every statement the store executes (kysely/observed.ts; tests only). */
  readonly observe?: StatementObserver
}

/** How long a start waits for another process's migration: SQLite's longest busy timeout (about 24 days). */
const MIGRATION_WAIT_MS = 2 ** 31 - 1

/** Opens (creating and migrating) the SQLite store at `path`. */
export async function openSqliteStore(opts: SqliteOptions): Promise<KyselyStore> {
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true })
  const busy = opts.busyTimeoutMs ?? 5_000
  const writerRaw = openConnection(opts.path, busy)
  const readerRaw = opts.path === ':memory:' ? writerRaw : openConnection(opts.path, busy)
  // Kysely runs the migrations and compiles statements; queries run through sqliteConn.
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: writerRaw }) })
  if (opts.migrate !== false) {
    // Kysely runs SQLite migrations outside any transaction and takes no lock. All pending
    // migrations run in one transaction instead: a process starting at the same moment waits for
    // it (busy_timeout) and then finds nothing left to apply, and a migration that fails half-way
    // (0005 rebuilds a table) leaves the database as it was. The wait for another process's
    // migration is not the requests' busy timeout: a migration of a large file outlasts it, and a
    // start given up then is a server that cannot start beside a migrating one (PostgreSQL's
    // advisory lock waits as long too; docs/architecture.md DUR-12).
    // Tried first with the requests' timeout, so that a start held up says why before it waits
    // on: the process holding the lock may be one that will never let go (a stuck sqlite3 shell).
    try {
      writerRaw.exec('BEGIN IMMEDIATE')
    } catch (first) {
      if ((first as { code?: unknown }).code !== 'SQLITE_BUSY') throw mapSqliteError(first)
      process.stderr.write(`roster: ${opts.path} is locked by another process (a migration in progress, or a write that has not ended); waiting for it\n`)
      writerRaw.pragma(`busy_timeout = ${MIGRATION_WAIT_MS}`)
      try {
        writerRaw.exec('BEGIN IMMEDIATE')
      } catch (e) {
        throw mapSqliteError(e)
      } finally {
        writerRaw.pragma(`busy_timeout = ${busy}`)
      }
    }
    try {
      await migrateToLatest(kysely as Kysely<unknown>, 'sqlite')
      writerRaw.exec('COMMIT')
    } catch (e) {
      if (writerRaw.inTransaction) writerRaw.exec('ROLLBACK')
      throw mapSqliteError(e)
    }
  }
  // The writer's COMMIT writes the WAL without an fsync; the WalSync makes each commit durable
  // before its requests are answered (synchronous=FULL's guarantee, the fsync off the event loop).
  const sync = opts.path === ':memory:' ? null : new WalSync(opts.path, opts.syncFile)
  if (sync !== null) writerRaw.pragma('synchronous = NORMAL')
  // A batch of member PATCHes inserts at random places in group_members and its member index:
  // a cache smaller than the pages one batch touches spills them to the WAL mid-transaction,
  // and they are written again at COMMIT (docs/storage.md).
  if (opts.writerCacheMiB !== undefined) writerRaw.pragma(`cache_size = -${Math.round(opts.writerCacheMiB * 1024)}`)
  const committer = new GroupCommitter(writerRaw, opts.maxBatch ?? 256, sync)
  const unregister = registerPool('sqlite_writer', () => committer.use())
  const reader = sqliteConn(readerRaw)
  const workers = opts.path === ':memory:' ? 0 : opts.readWorkers ?? 0
  const pool = workers > 0 ? await SqliteReadPool.open(opts.path, workers, busy, opts.statementTimeoutMs ?? 15_000) : null
  // The log file's reader opens it first (making its table), then the worker.
  const logPath = opts.path === ':memory:' ? null : logFilePath(opts.path)
  let worker: BackgroundWorker | null = null
  const logFile = logPath === null ? null : logFileDriver(logPath, busy, () => worker)
  if (logPath !== null && opts.backgroundCheckpoint !== false) worker = await BackgroundWorker.start(opts.path, logPath, busy, writerRaw)
  const driver: StoreDriver = {
    kind: 'sqlite',
    sql: sqliteSql,
    builder: kysely,
    reader,
    scanner: pool ?? reader,
    // Half the read workers (at least one) for one organization's scans: the rest serve the others.
    ...(pool ? { scanSlotsPerOrg: Math.max(1, Math.floor(workers / 2)) } : {}),
    lockRows: false,
    // Changes whenever a commit may have changed what lists read: the writer's own commits other
    // than provisioning-log batches (counted by the committer), and any other process's commit
    // (the writer connection's PRAGMA data_version changes exactly then: SQLite documents that it
    // ignores the connection's own commits). Log batches, a few a second under load, leave list
    // totals and page continuations valid. (An in-memory database has no other connection.)
    ...(readerRaw === writerRaw ? {} : { dataVersion: dataVersionOf(writerRaw, committer) }),
    // An in-memory database keeps every log row in its own provisioning_log.
    ...(logFile ? { logFile: logFile.driver } : {}),
    transaction: (fn, opts) => committer.run(fn, opts?.logOnly ?? false, opts?.deadline),
    async read(fn) {
      try {
        const value = await fn()
        // What this read returned may include a commit whose fsync is still in flight: it is
        // answered once that commit is durable.
        const durable = sync?.durable()
        if (durable) await durable
        return value
      } catch (e) {
        throw mapSqliteError(e)
      }
    },
    async close() {
      unregister()
      await sync?.close()
      await worker?.stop()
      logFile?.close()
      await pool?.close()
      await kysely.destroy()
      if (readerRaw !== writerRaw) readerRaw.close()
    },
  }
  return new KyselyStore(opts.observe ? observedDriver(driver, opts.observe) : driver)
}
