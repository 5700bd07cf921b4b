// The embedded SQLite store: better-sqlite3 in WAL mode with synchronous=FULL (DESIGN.md,
// durability: with NORMAL a committed transaction can be lost on power failure), one writer
// connection and one reader connection.
//
// Group commit: better-sqlite3 is synchronous, so concurrent write requests queue their work;
// the queue drains in one BEGIN IMMEDIATE … COMMIT, each request's work in its own SAVEPOINT
// (one request's 409 rolls back only its own savepoint), and every waiting request is answered
// only after that COMMIT returns. One fsync serves the whole batch.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { fold } from '../../scim/fold.ts'
import { KyselyStore, type LogFileDriver, type StoreDriver } from '../kysely/kysely-store.ts'
import type { Conn } from '../kysely/prepared.ts'
import type { Database } from '../kysely/schema.ts'
import { migrateToLatest } from '../migrations/index.ts'
import { StoreUnavailable, UniqueViolation } from '../store.ts'
import { logFilePath, logFileWriter, logKey, logText, openLogFile, type LogFileWriter } from './sqlite-log-file.mjs'
import { SqliteReadPool } from './sqlite-read-pool.ts'
import { sqliteSql } from './sqlite-sql.ts'

export interface SqliteOptions {
  readonly path: string
  /** How long a connection waits for another process's lock before the request gets 503. */
  readonly busyTimeoutMs?: number
  /** Most requests' work in one commit. */
  readonly maxBatch?: number
  readonly migrate?: boolean
  /** Worker threads for reads that may scan (0: all reads on the event loop). */
  readonly readWorkers?: number
  /** Longest a scanning read may run before it is stopped and answered 503. */
  readonly statementTimeoutMs?: number
  /** Checkpoint the WAL on a worker thread, so commits seldom wait for one. */
  readonly backgroundCheckpoint?: boolean
}

interface WorkerReply { readonly id: number; readonly value?: unknown; readonly error?: { readonly message: string; readonly code?: string } }

/**
 * Runs sqlite-worker.mjs: the background checkpointer and the log file's writer. If the worker
 * stops, the writer checkpoints for itself again and the log file is written on the main thread.
 */
class BackgroundWorker {
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  #next = 0
  #stopping = false
  #alive = true

  private constructor(worker: Worker) {
    this.#worker = worker
  }

  static async start(path: string, logPath: string, busyTimeoutMs: number, writer: Db): Promise<BackgroundWorker> {
    const worker = new Worker(new URL('./sqlite-worker.mjs', import.meta.url), {
      workerData: { path, logPath, busyTimeoutMs, intervalMs: 100 },
      // What it receives is garbage once inserted: a small young generation is enough (the
      // process's --max-semi-space-size=8 would let this thread's grow to 8 MiB a semi-space).
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    })
    worker.unref()
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve())
      worker.once('error', reject)
    })
    const bg = new BackgroundWorker(worker)
    // The writer still checkpoints past 4,000 pages (16 MiB): under sustained writes the
    // background checkpoint never catches the WAL's end, so the WAL is never restarted and would
    // grow without bound. By then nearly every frame is already copied, so that checkpoint is short.
    writer.pragma('wal_autocheckpoint = 4000')
    worker.on('message', (m: WorkerReply | string) => {
      if (typeof m === 'string') return
      const p = bg.#pending.get(m.id)
      bg.#pending.delete(m.id)
      if (bg.#pending.size === 0) worker.unref()
      if (!p) return
      if (m.error) p.reject(mapSqliteError(Object.assign(new Error(m.error.message), { code: m.error.code })))
      else p.resolve(m.value)
    })
    worker.on('exit', () => {
      bg.#alive = false
      if (!bg.#stopping && writer.open) writer.pragma('wal_autocheckpoint = 1000')
      for (const p of bg.#pending.values()) p.reject(new StoreUnavailable('the SQLite background worker stopped'))
      bg.#pending.clear()
    })
    return bg
  }

  get alive(): boolean {
    return this.#alive && !this.#stopping
  }

  /** Posts the messages (the parts of one request: the worker answers after the last). */
  request<T>(messages: readonly Record<string, unknown>[]): Promise<T> {
    const id = this.#next++
    return new Promise<T>((resolve, reject) => {
      // Referenced only while it owes an answer: the process does not exit under a pending
      // batch (the shutdown's last flush), and an idle worker never keeps it alive.
      if (this.#pending.size === 0) this.#worker.ref()
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      for (const m of messages) this.#worker.postMessage({ ...m, id })
    })
  }

  async stop(): Promise<void> {
    this.#stopping = true
    if (this.#alive) {
      const stopped = new Promise((resolve) => this.#worker.once('message', resolve))
      this.#worker.postMessage('stop')
      await stopped
    }
    await this.#worker.terminate()
  }
}

/** Rows per message of an append to the worker. */
const APPEND_PART = 256

/**
 * The log file (sqlite-log-file.mjs): rows and deletes go to the background worker when there
 * is one, else (the CLI, or after the worker stopped) through a connection on this thread.
 */
function logFileDriver(logPath: string, busyTimeoutMs: number, workerOf: () => BackgroundWorker | null): { driver: LogFileDriver; close(): void } {
  const readerRaw = openLogFile(logPath, busyTimeoutMs)
  let local: { db: Db; writer: LogFileWriter } | null = null
  const here = (): LogFileWriter => {
    if (!local) {
      const db = openLogFile(logPath, busyTimeoutMs)
      local = { db, writer: logFileWriter(db) }
    }
    return local.writer
  }
  const onHere = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn())
    } catch (e) {
      return Promise.reject(mapSqliteError(e))
    }
  }
  return {
    driver: {
      reader: sqliteConn(readerRaw),
      append(rows) {
        const worker = workerOf()
        if (!worker?.alive) return onHere(() => here().append(rows))
        const parts: Record<string, unknown>[] = []
        for (let i = 0; i < rows.length || i === 0; i += APPEND_PART) {
          parts.push({ op: 'append', rows: rows.slice(i, i + APPEND_PART), last: i + APPEND_PART >= rows.length })
        }
        return worker.request<void>(parts)
      },
      prune(orgId, beforeId, limit) {
        const worker = workerOf()
        return worker?.alive ? worker.request<number>([{ op: 'prune', orgId, beforeId, limit }]) : onHere(() => here().prune(orgId, beforeId, limit))
      },
      key: logKey,
      text: logText,
    },
    close() {
      readerRaw.close()
      local?.db.close()
    },
  }
}

type Db = BetterSqlite3.Database

function openConnection(path: string, busyTimeoutMs: number): Db {
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
function sqliteConn(db: Db): Conn {
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

interface Job {
  readonly fn: (conn: Conn) => Promise<unknown>
  /** Writes only provisioning-log rows: no list or count can read what it changes. */
  readonly logOnly: boolean
  readonly resolve: (v: unknown) => void
  readonly reject: (e: unknown) => void
}

class GroupCommitter {
  readonly #raw: Db
  readonly #conn: Conn
  readonly #maxBatch: number
  #queue: Job[] = []
  #running = false
  /** Commits of this connection that may have changed users, groups or memberships. */
  dataCommits = 0

  constructor(raw: Db, maxBatch: number) {
    this.#raw = raw
    this.#conn = sqliteConn(raw)
    this.#maxBatch = maxBatch
  }

  run<T>(fn: (conn: Conn) => Promise<T>, logOnly = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, logOnly, resolve: resolve as (v: unknown) => void, reject })
      if (!this.#running) {
        this.#running = true
        setImmediate(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch)
      const results: { ok: boolean; value: unknown }[] = []
      try {
        this.#raw.exec('BEGIN IMMEDIATE')
      } catch (e) {
        for (const job of batch) job.reject(mapSqliteError(e))
        continue
      }
      for (const job of batch) {
        this.#raw.exec('SAVEPOINT job')
        try {
          const value = await job.fn(this.#conn)
          this.#raw.exec('RELEASE job')
          results.push({ ok: true, value })
        } catch (e) {
          this.#raw.exec('ROLLBACK TO job')
          this.#raw.exec('RELEASE job')
          results.push({ ok: false, value: mapSqliteError(e) })
        }
      }
      try {
        this.#raw.exec('COMMIT')
        // Counted before any waiting request can run: a read after this sees a new data version.
        if (batch.some((job, i) => !job.logOnly && results[i]?.ok)) this.dataCommits++
      } catch (e) {
        if (this.#raw.inTransaction) this.#raw.exec('ROLLBACK')
        const err = mapSqliteError(e)
        for (const job of batch) job.reject(err instanceof StoreUnavailable ? err : new StoreUnavailable('commit failed', { cause: e }))
        continue
      }
      batch.forEach((job, i) => {
        const r = results[i]
        if (r?.ok) job.resolve(r.value)
        else job.reject(r?.value)
      })
    }
    this.#running = false
  }
}

/** A number that moves on every commit by another process and on every data commit of `committer`. */
function dataVersionOf(writer: Db, committer: GroupCommitter): () => number {
  // Prepared once: db.pragma() would compile the statement on every call.
  const stmt = writer.prepare('PRAGMA data_version').pluck()
  let external = stmt.get() as number
  let others = 0
  return () => {
    const v = stmt.get() as number
    if (v !== external) {
      external = v
      others++
    }
    return others + committer.dataCommits
  }
}

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
    // (0005 rebuilds a table) leaves the database as it was.
    writerRaw.exec('BEGIN IMMEDIATE')
    try {
      await migrateToLatest(kysely as Kysely<unknown>, 'sqlite')
      writerRaw.exec('COMMIT')
    } catch (e) {
      if (writerRaw.inTransaction) writerRaw.exec('ROLLBACK')
      throw mapSqliteError(e)
    }
  }
  const committer = new GroupCommitter(writerRaw, opts.maxBatch ?? 256)
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
    lockRows: false,
    // Changes whenever a commit may have changed what lists read: the writer's own commits other
    // than provisioning-log batches (counted by the committer), and any other process's commit
    // (the writer connection's PRAGMA data_version changes exactly then: SQLite documents that it
    // ignores the connection's own commits). Log batches, a few a second under load, leave list
    // totals and page continuations valid. (An in-memory database has no other connection.)
    ...(readerRaw === writerRaw ? {} : { dataVersion: dataVersionOf(writerRaw, committer) }),
    // An in-memory database keeps every log row in its own provisioning_log.
    ...(logFile ? { logFile: logFile.driver } : {}),
    transaction: (fn, opts) => committer.run(fn, opts?.logOnly ?? false),
    async read(fn) {
      try {
        return await fn()
      } catch (e) {
        throw mapSqliteError(e)
      }
    },
    async close() {
      await worker?.stop()
      logFile?.close()
      await pool?.close()
      await kysely.destroy()
      if (readerRaw !== writerRaw) readerRaw.close()
    },
  }
  return new KyselyStore(driver)
}
