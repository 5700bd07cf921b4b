// Statements built per call (with kysely's `sql` tag) for the stores of rows that are not list
// data (webhook deliveries, invitations): run on a transaction's connection or on the reader,
// and written in transactions that leave list caches valid (like provisioning-log batches).
import type { RawBuilder } from 'kysely'
import type { OrgId } from '../store.ts'
import { holdStatements, runHold, type HoldStatements } from './org-policy.ts'
import type { Conn } from './prepared.ts'
import type { StoreDriver } from './store-driver.ts'

export class RawQueries {
  readonly #d: StoreDriver
  readonly #hold: HoldStatements

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.#hold = holdStatements(driver.builder, driver.kind)
  }

  get pg(): boolean {
    return this.#d.kind === 'postgres'
  }

  all<R>(conn: Conn, q: RawBuilder<unknown>): Promise<R[]> {
    const c = q.compile(this.#d.builder)
    return conn.all<R>(c.sql, c.parameters)
  }

  run(conn: Conn, q: RawBuilder<unknown>): Promise<number> {
    const c = q.compile(this.#d.builder)
    return conn.run(c.sql, c.parameters)
  }

  /**
   * Holds the organization's row in a write transaction (OrgPolicyTx.holdShared; `no key update`:
   * OrgPolicyTx.hold, as a token rotation that revokes tokens must); OrgGone when it is not there.
   * A transaction that adds rows for an organization starts with it, so none outlives it.
   */
  holdOrg(conn: Conn, orgId: string, strength: 'key share' | 'no key update' = 'key share'): Promise<void> {
    return runHold(conn, strength === 'key share' ? this.#hold.holdShared : this.#hold.hold, orgId as OrgId)
  }

  /** On the reader. */
  read<R>(q: RawBuilder<unknown>): Promise<R[]> {
    return this.#d.read(() => this.all<R>(this.#d.reader, q))
  }

  /** A transaction that changes no list data. */
  tx<T>(fn: (conn: Conn) => Promise<T>): Promise<T> {
    return this.#d.transaction(fn, { logOnly: true })
  }
}
