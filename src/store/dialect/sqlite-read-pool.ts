// Worker threads that run the SQLite reads that may scan (list pages and counts, large groups'
// members). better-sqlite3 is synchronous: on the event loop a 100 ms scan would stall every
// other request, writes included. Here it runs on another core. A statement that outlives the
// timeout, or the request's deadline, is answered 503 and its worker is replaced at once, so the reads behind it go on
// (docs/architecture.md: statement timeouts under 25 s). better-sqlite3 cannot interrupt a running
// statement, so the old thread finishes that statement before it exits: the client's wait is
// bounded, the CPU it costs is not.
import { Worker } from 'node:worker_threads'
import type { Conn } from '../kysely/prepared.ts'
import { DeadlineExceeded, remainingMs, type Deadline } from '../deadline.ts'
import { StoreUnavailable } from '../store.ts'

/** What sqlite-read-worker.mjs answers. */
type ReadResponse =
  | { readonly id: number; readonly rows: unknown[] }
  | { readonly id: number; readonly error: { readonly code: string | null; readonly message: string } }

interface Pending {
  readonly resolve: (rows: unknown[]) => void
  readonly reject: (e: unknown) => void
  readonly timer: NodeJS.Timeout
  /** Sends the statement again (to another worker). */
  readonly again: () => void
}

class ReadWorker {
  readonly worker: Worker
  readonly pending = new Map<number, Pending>()
  readonly ready: Promise<void>
  /** Stopped by the pool for a statement past its time: the statements queued behind it go to another worker. */
  retired = false

  constructor(path: string, busyTimeoutMs: number, onExit: (w: ReadWorker) => void) {
    this.worker = new Worker(new URL('./sqlite-read-worker.mjs', import.meta.url), { workerData: { path, busyTimeoutMs } })
    this.worker.unref()
    this.ready = new Promise((resolve, reject) => {
      const onError = (e: unknown) => reject(e instanceof Error ? e : new Error(String(e)))
      this.worker.once('error', onError)
      this.worker.once('message', () => {
        this.worker.off('error', onError)
        resolve()
      })
    })
    this.worker.on('message', (m: ReadResponse | { ready: true }) => {
      if (!('id' in m)) return
      const p = this.pending.get(m.id)
      if (!p) return
      this.pending.delete(m.id)
      clearTimeout(p.timer)
      if ('rows' in m) p.resolve(m.rows)
      else p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
    })
    this.worker.on('exit', () => {
      onExit(this)
      const queued = [...this.pending.values()]
      this.pending.clear()
      for (const p of queued) {
        clearTimeout(p.timer)
        // Statements queued behind one that was stopped never ran: they go on elsewhere. A
        // worker that died by itself may have died of its statement: those fail.
        if (this.retired) p.again()
        else p.reject(new StoreUnavailable('read worker stopped'))
      }
    })
  }
}

export class SqliteReadPool implements Conn {
  readonly #path: string
  readonly #busyTimeoutMs: number
  readonly #timeoutMs: number
  #workers: ReadWorker[] = []
  #next = 0
  #closed = false

  private constructor(path: string, size: number, busyTimeoutMs: number, timeoutMs: number) {
    this.#path = path
    this.#busyTimeoutMs = busyTimeoutMs
    this.#timeoutMs = timeoutMs
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn())
  }

  static async open(path: string, size: number, busyTimeoutMs: number, timeoutMs: number): Promise<SqliteReadPool> {
    const pool = new SqliteReadPool(path, size, busyTimeoutMs, timeoutMs)
    await Promise.all(pool.#workers.map((w) => w.ready))
    return pool
  }

  #spawn(): ReadWorker {
    return new ReadWorker(this.#path, this.#busyTimeoutMs, (dead) => this.#replace(dead))
  }

  /** Takes a stuck or exited worker out of rotation and starts another in its place. */
  #replace(dead: ReadWorker): void {
    if (this.#closed || !this.#workers.includes(dead)) return
    this.#workers = this.#workers.map((w) => (w === dead ? this.#spawn() : w))
  }

  all<R>(sql: string, params: readonly unknown[], deadline?: Deadline): Promise<R[]> {
    // The worker with the fewest statements in flight takes it.
    let w = this.#workers[this.#next++ % this.#workers.length] as ReadWorker
    for (const c of this.#workers) if (c.pending.size < w.pending.size) w = c
    const id = this.#next
    // A replacement worker is still starting: the statement's time starts once it can run.
    // The request's deadline, when it comes first, stops the statement the same way.
    return w.ready.then(() => new Promise<R[]>((resolve, reject) => {
      const ms = remainingMs(deadline, this.#timeoutMs)
      if (ms <= 0) {
        reject(new DeadlineExceeded())
        return
      }
      const timer = setTimeout(() => {
        w.pending.delete(id)
        reject(ms < this.#timeoutMs ? new DeadlineExceeded() : new StoreUnavailable(`read took longer than ${this.#timeoutMs} ms`))
        w.retired = true
        this.#replace(w)
        void w.worker.terminate()
      }, ms)
      const again = () => void this.all<R>(sql, params, deadline).then(resolve, reject)
      w.pending.set(id, { resolve: resolve as (rows: unknown[]) => void, reject, timer, again })
      w.worker.postMessage({ id, sql, params })
    }))
  }

  run(): Promise<number> {
    return Promise.reject(new Error('the read pool does not write'))
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.#workers.map((w) => w.worker.terminate()))
    this.#workers = []
  }
}
