// What shared rate limits need from the store (http/rate-limit.ts): token buckets that every
// server takes from. Only PostgreSQL has them; an embedded SQLite store serves one process, whose
// buckets in memory are the whole truth.

export interface SharedTake {
  readonly key: string
  /** Requests this server let through since its last sync. */
  readonly used: number
  /** The bucket's refill a second and its size. */
  readonly rate: number
  readonly capacity: number
}

export interface RateLimitBuckets {
  /**
   * Refills each shared bucket up to `nowMs`, takes `used` from it, in one statement; answers
   * what each bucket holds then (below zero when the servers together let through too many).
   */
  take(takes: readonly SharedTake[], nowMs: number): Promise<ReadonlyMap<string, number>>
  /** Forgets buckets no server has used since `beforeMs`. */
  prune(beforeMs: number): Promise<void>
}
