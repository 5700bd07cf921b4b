// The SQLite store's background thread (sqlite-worker.mjs), seen from the main thread: it
// checkpoints the WAL and writes the log file (sqlite-log-file.mjs), and the log file's driver
// sends it the appender's rows and retention's deletes.
import { Worker } from 'node:worker_threads'
import type { LogFileDriver } from '../kysely/store-driver.ts'
import { StoreUnavailable } from '../store.ts'
import { mapSqliteError, sqliteConn, type Db } from './sqlite-connection.ts'
import { logFileWriter, logKey, logText, openLogFile, type LogFileWriter } from './sqlite-log-file.mjs'

interface WorkerReply { readonly id: number; readonly value?: unknown; readonly error?: { readonly message: string; readonly code?: string } }

/**
 * Runs sqlite-worker.mjs: the background checkpointer and the log file's writer. If the worker
 * stops, the writer checkpoints for itself again and the log file is written on the main thread.
 */
export class BackgroundWorker {
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
export function logFileDriver(logPath: string, busyTimeoutMs: number, workerOf: () => BackgroundWorker | null): { driver: LogFileDriver; close(): void } {
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
