// The batched appender: log rows of requests that wrote nothing (reads, errors, refused
// tokens) are buffered and written together, one transaction per batch, every FLUSH_MS and on
// close, so that a read never becomes a write of its own. A row whose request changed
// something is not written here: it commits with the change (docs/architecture.md). If the database
// cannot take a batch, its rows wait for the next flush; past MAX_BUFFERED rows the oldest are
// dropped and counted (a log row is not worth unbounded memory). A batch the database refuses
// for what it holds rather than for being away (a value one store cannot take) is split until
// the rows that cannot be written are found: those are set aside, counted and reported, and
// every other row is written; one bad row never holds up the rest.
import { StoreUnavailable, type LogRow, type OrgId, type Store } from '../store/store.ts'

export interface AppenderOptions {
  readonly flushIntervalMs?: number
  /** Rows that start a flush at once, and the most written in one transaction. */
  readonly maxBatch?: number
  readonly maxBuffered?: number
  readonly onError?: (err: unknown, dropped: number) => void
  /** A row the database refused, set aside, with why. */
  readonly onRejected?: (err: unknown, row: { readonly orgId: OrgId; readonly requestId: string }) => void
}

interface Pending { readonly orgId: OrgId; readonly row: LogRow }

export class LogAppender {
  readonly #store: Store
  readonly #maxBatch: number
  readonly #maxBuffered: number
  readonly #onError: (err: unknown, dropped: number) => void
  readonly #onRejected: NonNullable<AppenderOptions['onRejected']>
  #rejected = 0
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
    this.#onRejected = opts.onRejected ?? (() => undefined)
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 200)
    this.#timer.unref()
  }

  /** Rows buffered, not yet written. */
  get pending(): number {
    return this.#buffer.length
  }

  /** Rows dropped because the database could not take them in time. */
  get dropped(): number {
    return this.#dropped
  }

  /** Rows the database refused for what they hold, set aside rather than retried. */
  get rejected(): number {
    return this.#rejected
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
      const unwritten = await this.#write(batch)
      if (unwritten.length > 0) {
        // The database is away: keep the rows for the next flush, ahead of newer ones.
        this.#buffer = unwritten.concat(this.#buffer)
        return
      }
    }
  }

  /**
   * Writes the rows; returns those left for a later flush because the database is away. A
   * refusal of anything else is a row the database cannot take: the batch is split in halves
   * until each such row is alone, and that row is set aside.
   */
  async #write(rows: Pending[]): Promise<Pending[]> {
    try {
      await this.#store.appendLog(rows)
      return []
    } catch (e) {
      if (e instanceof StoreUnavailable) {
        this.#onError(e, this.#dropped)
        return rows
      }
      if (rows.length === 1) {
        const [p] = rows as [Pending]
        this.#rejected++
        this.#onRejected(e, { orgId: p.orgId, requestId: p.row.requestId })
        return []
      }
      const half = Math.ceil(rows.length / 2)
      const left = await this.#write(rows.slice(0, half))
      if (left.length > 0) return left.concat(rows.slice(half))
      return this.#write(rows.slice(half))
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
