// A request's deadline as the store sees it (http/deadline.ts sets it; docs/security.md,
// "Request deadlines"). Work that has not begun by the deadline is dropped; a write whose
// commit has begun is left to finish (`committing`), so a client is never told 503 about a
// change that then commits; anything else past the deadline rolls back and is a 503.
import { StoreUnavailable } from './store.ts'

export interface Deadline {
  /** When the request's time is up (epoch milliseconds). */
  readonly atMs: number
  /** Set by the store when the write's commit begins: the request then waits for it. */
  committing: boolean
  /** Set when the request was answered 503 because its time was up. */
  abandoned: boolean
}

/** The request's time ran out: 503 with Retry-After, like any other store that cannot answer in time. */
export class DeadlineExceeded extends StoreUnavailable {
  constructor() {
    super('the request ran past its deadline')
    this.name = 'DeadlineExceeded'
  }
}

export function expired(d: Deadline | undefined, now = Date.now()): boolean {
  return d !== undefined && (d.abandoned || now >= d.atMs)
}

/** Throws DeadlineExceeded when the deadline has passed. */
export function checkDeadline(d: Deadline | undefined): void {
  if (expired(d)) throw new DeadlineExceeded()
}

/** Milliseconds left before the deadline (at most `cap`). */
export function remainingMs(d: Deadline | undefined, cap: number): number {
  return d === undefined ? cap : Math.min(cap, d.atMs - Date.now())
}
