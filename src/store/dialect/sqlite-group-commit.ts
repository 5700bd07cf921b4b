// Group commit: better-sqlite3 is synchronous, so concurrent write requests queue their work;
// the queue drains in one BEGIN IMMEDIATE … COMMIT, each request's work in its own SAVEPOINT
// (one request's 409 rolls back only its own savepoint), and every waiting request is answered
// only after that commit is durable. The writer commits with synchronous=NORMAL and a WalSync
// fsyncs the WAL on libuv's thread pool (sqlite-wal-sync.ts): the event loop goes on serving
// requests while the disk works, and while one commit's fsync is in flight the next batch's
// transaction stays open and takes the jobs that arrive, so one fsync serves the whole batch.
// The committer also counts its data commits, for the store's data version (dataVersionOf).
import { recordWriteBatch, writeBatches, type PoolUse } from '../../ops/store-stats.ts'
import type { Conn } from '../kysely/prepared.ts'
import { DeadlineExceeded, expired, type Deadline } from '../deadline.ts'
import { StoreUnavailable } from '../store.ts'
import { mapSqliteError, sqliteConn, type Db } from './sqlite-connection.ts'
import type { WalSync } from './sqlite-wal-sync.ts'

interface Job {
  readonly fn: (conn: Conn) => Promise<unknown>
  /** Writes only provisioning-log rows: no list or count can read what it changes. */
  readonly logOnly: boolean
  readonly deadline: Deadline | undefined
  readonly resolve: (v: unknown) => void
  readonly reject: (e: unknown) => void
}

export class GroupCommitter {
  readonly #raw: Db
  readonly #conn: Conn
  readonly #maxBatch: number
  #queue: Job[] = []
  #running = false
  /** Commits of this connection that may have changed users, groups or memberships. */
  dataCommits = 0

  readonly #sync: WalSync | null

  /** `sync` null: every COMMIT is durable when it returns (synchronous=FULL, or an in-memory database). */
  constructor(raw: Db, maxBatch: number, sync: WalSync | null = null) {
    this.#raw = raw
    this.#conn = sqliteConn(raw)
    this.#maxBatch = maxBatch
    this.#sync = sync
  }

  run<T>(fn: (conn: Conn) => Promise<T>, logOnly = false, deadline?: Deadline): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, logOnly, deadline, resolve: resolve as (v: unknown) => void, reject })
      if (!this.#running) {
        this.#running = true
        setImmediate(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commitBatch()
    } finally {
      this.#running = false
      // A job queued while the last batch failed is not left waiting for a run that never comes.
      if (this.#queue.length > 0) {
        this.#running = true
        setImmediate(() => void this.#drain())
      }
    }
  }

  /** The writer's use, for /metrics: busy with a batch or not, and the requests waiting. */
  use(): PoolUse {
    return { total: 1, idle: this.#running ? 0 : 1, waiting: this.#queue.length }
  }

  async #commitBatch(): Promise<void> {
    const batch: Job[] = this.#queue.splice(0, this.#maxBatch)
    const results: { ok: boolean; value: unknown }[] = []
    const started = performance.now()
    try {
      this.#raw.exec('BEGIN IMMEDIATE')
    } catch (e) {
      for (const job of batch) job.reject(mapSqliteError(e))
      return
    }
    for (let next = 0; ; ) {
      for (; next < batch.length; next++) {
        if (!(await this.#runJob(batch[next] as Job, results))) {
          this.#failBatch(batch, results[next]?.value)
          return
        }
      }
      // The previous commit's fsync is still on its way to the disk: committing now would only
      // queue behind it. The transaction stays open and takes the jobs that arrive meanwhile.
      if (this.#sync === null || !this.#sync.busy || batch.length >= this.#maxBatch) break
      await this.#sync.idle()
      batch.push(...this.#queue.splice(0, this.#maxBatch - batch.length))
    }
    try {
      this.#raw.exec('COMMIT')
      // Counted before any waiting request can run: a read after this sees a new data version.
      if (batch.some((job, i) => !job.logOnly && results[i]?.ok)) this.dataCommits++
    } catch (e) {
      this.#failBatch(batch, e)
      return
    }
    const settle = () => {
      recordWriteBatch(batch.length, (performance.now() - started) / 1000)
      batch.forEach((job, i) => {
        const r = results[i]
        if (r?.ok) job.resolve(r.value)
        else job.reject(r?.value)
      })
    }
    if (this.#sync === null) {
      settle()
      return
    }
    this.#sync.committed().then(settle, (e: unknown) => {
      writeBatches.failed++
      for (const job of batch) job.reject(e)
    })
  }

  /**
   * Runs one job in its savepoint and records its result. False when the transaction did not
   * survive the job's error: the batch must then fail as a whole.
   */
  async #runJob(job: Job, results: { ok: boolean; value: unknown }[]): Promise<boolean> {
    // A job whose request's time ran out while it waited is dropped unrun. One that starts runs
    // to this batch's COMMIT, so its request waits for that commit.
    if (job.deadline !== undefined) {
      if (expired(job.deadline)) {
        results.push({ ok: false, value: new DeadlineExceeded() })
        return true
      }
      job.deadline.committing = true
    }
    let err: unknown = null
    try {
      this.#raw.exec('SAVEPOINT job')
      const value = await job.fn(this.#conn)
      this.#raw.exec('RELEASE job')
      results.push({ ok: true, value })
      return true
    } catch (e) {
      err = e
    }
    // SQLite rolls the whole transaction back itself on some errors (SQLITE_FULL, SQLITE_IOERR,
    // SQLITE_BUSY, SQLITE_NOMEM: "Response To Errors Within A Transaction", sqlite.org/lang_transaction.html):
    // then the savepoint is gone, every earlier job of the batch was undone with it, and the
    // batch ends here, each of its requests answered 503 (docs/architecture.md ROS-1).
    if (!this.#raw.inTransaction || !this.#undoJob()) {
      results.push({ ok: false, value: err })
      return false
    }
    results.push({ ok: false, value: mapSqliteError(err) })
    return true
  }

  /** Undoes the current job's savepoint; false when that fails (the transaction is then rolled back). */
  #undoJob(): boolean {
    try {
      this.#raw.exec('ROLLBACK TO job')
      this.#raw.exec('RELEASE job')
      return true
    } catch {
      return false
    }
  }

  /** Rolls back what is left of the batch's transaction and answers every job of it 503. */
  #failBatch(batch: readonly Job[], cause: unknown): void {
    writeBatches.failed++
    try {
      if (this.#raw.inTransaction) this.#raw.exec('ROLLBACK')
    } catch {
      // Nothing more to undo: SQLite has rolled the transaction back already.
    }
    const mapped = mapSqliteError(cause)
    const err = mapped instanceof StoreUnavailable ? mapped : new StoreUnavailable('the write transaction was rolled back', { cause })
    for (const job of batch) job.reject(err)
  }
}

/** A number that moves on every commit by another process and on every data commit of `committer`. */
export function dataVersionOf(writer: Db, committer: GroupCommitter): () => number {
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
