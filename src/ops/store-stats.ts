// What the stores add up as they work, for /metrics (src/http/metrics.ts): the size and commit
// time of each write transaction (a batch of requests on SQLite, group commit; one request on
// PostgreSQL), and the connection pools' use. Process-wide, plain numbers: adding costs nothing.
import { Histogram } from './histogram.ts'

export const WRITE_BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
export const COMMIT_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

export const writeBatches = {
  /** Requests per write transaction. */
  size: new Histogram(WRITE_BATCH_SIZES),
  /** Seconds from BEGIN to the end of COMMIT. */
  seconds: new Histogram(COMMIT_SECONDS),
  /** Write transactions that failed as a whole (every request of it answered 503). */
  failed: 0,
  /** PostgreSQL: write transactions run again after a deadlock (40P01) or a serialization failure (40001). */
  retried: 0,
}

export function recordWriteBatch(size: number, seconds: number): void {
  writeBatches.size.observe(size)
  writeBatches.seconds.observe(seconds)
}

export interface PoolUse {
  /** Connections (or worker threads) open. */
  readonly total: number
  /** Of those, idle. */
  readonly idle: number
  /** Requests waiting for one. */
  readonly waiting: number
}

/** The open stores' pools, by name (`postgres`, `sqlite_writer`, `sqlite_readers`). */
export const pools = new Map<string, () => PoolUse>()

/** Adds a store's pool; returns the function that removes it (at the store's close). */
export function registerPool(name: string, use: () => PoolUse): () => void {
  pools.set(name, use)
  return () => {
    if (pools.get(name) === use) pools.delete(name)
  }
}
