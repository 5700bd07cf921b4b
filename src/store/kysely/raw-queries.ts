// Statements built per call (with kysely's `sql` tag) for the stores of rows that are not list
// data (webhook deliveries, invitations): run on a transaction's connection or on the reader,
// and written in transactions that leave list caches valid (like provisioning-log batches).
import { sql, type RawBuilder } from 'kysely'
import { OrgGone, type OrgId } from '../store.ts'
import type { Conn } from './prepared.ts'
import type { StoreDriver } from './store-driver.ts'

export class RawQueries {
  readonly #d: StoreDriver

  constructor(driver: StoreDriver) {
    this.#d = driver
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
   * Reads the organization's row in a write transaction (PostgreSQL: FOR KEY SHARE, so that a
   * deletion in flight, which holds it FOR UPDATE, commits first); OrgGone when it is not there.
   * A transaction that adds rows for an organization starts with it, so none outlives it.
   * `no key update`: also ordered against another change of the organization's own state
   * (OrgPolicyTx.hold), as a token rotation that revokes tokens must be.
   */
  async holdOrg(conn: Conn, orgId: string, strength: 'key share' | 'no key update' = 'key share'): Promise<void> {
    const lock = !this.pg ? sql`` : strength === 'key share' ? sql` for key share` : sql` for no key update`
    const c = sql`select id from orgs where id = ${orgId}${lock}`.compile(this.#d.builder)
    if ((await conn.all(c.sql, c.parameters)).length === 0) throw new OrgGone(orgId as OrgId)
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
