// Retention of the provisioning log: rows older than the retention are deleted, organization
// by organization, in batches of PRUNE_BATCH rows, each its own short transaction, yielding
// to the event loop between batches, so that pruning never holds the SQLite writer (or a
// PostgreSQL lock) for long. Time comes from the injected clock; ids carry their arrival time,
// so "older than" is a range on the (org_id, id) key.
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { uuidV7Floor } from '../ids.ts'
import type { Store } from '../store/store.ts'

export const DAY_MS = 86_400_000

export interface RetentionOptions {
  readonly retentionDays: number
  readonly now: () => Date
  /** How often the server prunes. */
  readonly intervalMs?: number
  readonly batch?: number
  readonly onError?: (err: unknown) => void
}

/** Deletes every row older than the retention; returns how many. */
export async function pruneLog(store: Store, opts: Pick<RetentionOptions, 'retentionDays' | 'now' | 'batch'>): Promise<number> {
  const before = uuidV7Floor(opts.now().getTime() - opts.retentionDays * DAY_MS)
  const batch = opts.batch ?? 500
  let total = 0
  for (const orgId of await store.orgIds()) {
    for (;;) {
      const n = await store.pruneLog(orgId, before, batch)
      total += n
      if (n < batch) break
      await yieldToLoop()
    }
  }
  return total
}

/**
 * Deletes every event older than the retention (ROSTER_EVENT_RETENTION_DAYS), oldest first, in
 * short transactions of `batch` rows; returns how many. A feed cursor older than the retention
 * is answered 410 (docs/events.md), so nobody reads past what was deleted without knowing it.
 */
export async function pruneEvents(store: Store, opts: Pick<RetentionOptions, 'retentionDays' | 'now' | 'batch'>): Promise<number> {
  const before = new Date(opts.now().getTime() - opts.retentionDays * DAY_MS).toISOString()
  const batch = opts.batch ?? 2_000
  let total = 0
  for (;;) {
    const n = await store.pruneEvents(before, batch)
    total += n
    if (n < batch) return total
    await yieldToLoop()
  }
}

/** Runs a pruning pass now and then every `intervalMs` until stopped (the log's, the events'). */
export class Retention {
  readonly #pass: () => Promise<number>
  readonly #opts: Pick<RetentionOptions, 'intervalMs' | 'onError'>
  readonly #timer: NodeJS.Timeout
  #running: Promise<number> | null = null
  #stopped = false

  /** The first pass runs one interval (at most 10 s) after start, then every interval. */
  constructor(pass: () => Promise<number>, opts: Pick<RetentionOptions, 'intervalMs' | 'onError'>) {
    this.#pass = pass
    this.#opts = opts
    const interval = opts.intervalMs ?? 60_000
    const first = setTimeout(() => void this.prune(), Math.min(interval, 10_000))
    first.unref()
    this.#timer = setInterval(() => void this.prune(), interval)
    this.#timer.unref()
    this.#first = first
  }

  readonly #first: NodeJS.Timeout

  /** One pass (not overlapping another); resolves to the rows deleted, 0 after a failure. */
  prune(): Promise<number> {
    if (this.#stopped) return Promise.resolve(0)
    this.#running ??= this.#pass()
      .catch((e: unknown) => {
        this.#opts.onError?.(e)
        return 0
      })
      .finally(() => {
        this.#running = null
      })
    return this.#running
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#first)
    clearInterval(this.#timer)
    await this.#running
  }
}
