// Shares identical reads that have not started yet. A read is queued until the event loop's
// next turn; an identical read (same SQL and parameters) asked for before it starts waits for
// the same answer. Every request that shares an answer arrived before the statement ran, so it
// sees every write acknowledged before it arrived: this is not a cache, nothing is kept after
// the statement. Used for COUNT(*) of list queries, which visit every match and which a client
// paging concurrently asks for once per page.
import type { Deadline } from '../deadline.ts'
import type { Conn } from './prepared.ts'

export class Coalescer {
  readonly #conn: Conn
  readonly #waiting = new Map<string, Promise<unknown[]>>()

  constructor(conn: Conn) {
    this.#conn = conn
  }

  /** A shared statement stops at the deadline of the first request that asked for it (they arrived within one turn). */
  all<R>(sql: string, params: readonly unknown[], deadline?: Deadline): Promise<R[]> {
    const key = `${sql}\u0000${JSON.stringify(params)}`
    const queued = this.#waiting.get(key)
    if (queued) return queued as Promise<R[]>
    const p = new Promise<unknown[]>((resolve, reject) => {
      setImmediate(() => {
        // From here on, a new request starts its own statement.
        this.#waiting.delete(key)
        this.#conn.all(sql, params, deadline).then(resolve, reject)
      })
    })
    this.#waiting.set(key, p)
    return p as Promise<R[]>
  }
}
