// The batched appender: log rows of requests that wrote nothing (reads, errors, refused
// tokens) are buffered and written together, one transaction per batch, every FLUSH_MS and on
// close, so that a read never becomes a write of its own. A row whose request changed
// something is not written here: it commits with the change (docs/architecture.md). If the database
// cannot take a batch, its rows wait for the next flush; past MAX_BUFFERED rows the oldest are
// dropped and counted (a log row is not worth unbounded memory).
import type { LogRow, OrgId, Store } from '../store/store.ts'

export interface AppenderOptions {
  readonly flushIntervalMs?: number
  /** Rows that start a flush at once, and the most written in one transaction. */
  readonly maxBatch?: number
  readonly maxBuffered?: number
  readonly onError?: (err: unknown, dropped: number) => void
}

interface Pending { readonly orgId: OrgId; readonly row: LogRow }

export class LogAppender {
  readonly #store: Store
  readonly #maxBatch: number
  readonly #maxBuffered: number
  readonly #onError: (err: unknown, dropped: number) => void
  readonly #timer: NodeJS.Timeout
  #buffer: Pending[] = []
  #flushing: Promise<void> | null = null
  #dropped = 0
  #closed = false

  constructor(store: Store, opts: AppenderOptions = {}) {
    this.#store = store
    this.#maxBatch = opts.maxBatch ?? 5_000
    this.#maxBuffered = opts.maxBuffered ?? 50_000
    this.#onError = opts.onError ?? (() => undefined)
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200)
    this.#timer.unref()
  }

  /** Rows dropped because the database could not take them in time. */
  get dropped(): number {
    return this.#dropped
  }

  add(orgId: OrgId, row: LogRow): void {
    this.#buffer.push({ orgId, row })
    if (this.#buffer.length > this.#maxBuffered) {
      const over = this.#buffer.length - this.#maxBuffered
      this.#buffer.splice(0, over)
      this.#dropped += over
    }
    // After close (a request that finished during shutdown) every row is written at once.
    if ((this.#buffer.length >= this.#maxBatch || this.#closed) && !this.#flushing) void this.flush()
  }

  /** Writes every row buffered so far; resolves when they are committed (or kept for a retry). */
  async flush(): Promise<void> {
    // A flush under way covers only the rows it began with: wait for it, then write the rest.
    while (this.#flushing) await this.#flushing
    if (this.#buffer.length === 0) return
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = null
    })
    return this.#flushing
  }

  async #drain(): Promise<void> {
    // Only the rows buffered when the flush began: rows that arrive while a batch commits wait
    // for the next flush, so under steady traffic there are a few large commits a second rather
    // than one small commit after another (each commit is an fsync).
    let left = this.#buffer.length
    while (left > 0 && this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, Math.min(left, this.#maxBatch))
      left -= batch.length
      try {
        await this.#store.appendLog(batch)
      } catch (e) {
        // Keep the rows for the next flush, ahead of newer ones.
        this.#buffer = batch.concat(this.#buffer)
        this.#onError(e, this.#dropped)
        return
      }
    }
  }

  /** Stops the timer and writes what is buffered (the server's shutdown). */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#flushing
    await this.flush()
  }
}
