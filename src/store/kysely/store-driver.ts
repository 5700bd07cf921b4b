// What the shared store (kysely-store.ts) needs from a database: a driver per dialect
// (dialect/sqlite.ts, dialect/postgres.ts) says how a write transaction runs, how reads are
// wrapped, its SQL spellings and, where it has them, its data version and log file.
import type { Kysely } from 'kysely'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type { Conn } from './prepared.ts'
import type { Database } from './schema.ts'
import type { Deadline } from '../deadline.ts'
import type { Statements } from './statements.ts'
import type { EventStamper } from './event-stamper.ts'

export interface StoreDriver {
  readonly kind: 'sqlite' | 'postgres'
  readonly sql: SqlDialect
  /** Compiles statements for the dialect; never executes them. */
  readonly builder: Kysely<Database>
  /** Reads outside a transaction (never see another request's uncommitted writes). */
  readonly reader: Conn
  /** Reads that may scan many rows (list pages and counts, a group's members); may be `reader`. */
  readonly scanner: Conn
  /**
   * Runs fn in one durable transaction; maps driver errors to UniqueViolation / StoreUnavailable.
   * `logOnly`: it writes provisioning-log rows and nothing else (see dataVersion). `deadline`: work
   * not begun by then is dropped, and work past it rolls back, unless its commit has begun.
   */
  transaction<T>(fn: (conn: Conn) => Promise<T>, opts?: { readonly logOnly?: boolean; readonly deadline?: Deadline | undefined }): Promise<T>
  /** Wraps a read so that driver failures become StoreUnavailable. */
  read<T>(fn: () => Promise<T>): Promise<T>
  /** Most scanning reads of one organization at a time (scan-slots.ts); unlimited when absent. */
  readonly scanSlotsPerOrg?: number
  /** Row lock for read-modify-write (PostgreSQL `FOR UPDATE`; SQLite's writer is already exclusive). */
  readonly lockRows: boolean
  /** The dialect's own forms of some fixed statements (same arguments, same results). */
  readonly statements?: Partial<Statements>
  /**
   * A number that changes whenever a commit may have changed users, groups or memberships (on
   * SQLite from `PRAGMA data_version` and the writer's own commits), or undefined where the
   * database has none: list results read under one value are still exact under it.
   */
  dataVersion?(): number
  /**
   * Where the appender's log rows go instead of the main provisioning_log (SQLite's log file,
   * dialect/sqlite-log-file.mjs); the log is then both tables.
   */
  readonly logFile?: LogFileDriver
  /**
   * PostgreSQL: gives committed events their positions after commit (event-stamper.ts). Without
   * one (SQLite: one writer commits in position order) events are readable once committed.
   */
  readonly eventStamper?: EventStamper
  close(): Promise<void>
}

/** A second provisioning_log table, written off the event loop. */
export interface LogFileDriver {
  /** Reads the log file's table (the same columns; ids as `key` makes them). */
  readonly reader: Conn
  /** Commits the rows (logArgs form) in one transaction. */
  append(rows: readonly (readonly unknown[])[]): Promise<void>
  /** Deletes up to `limit` of the organization's rows older than `beforeId`, oldest first. */
  prune(orgId: string, beforeId: string, limit: number): Promise<number>
  /** An id as the table keeps it, for a query's argument. */
  key(id: string): unknown
  /** A kept id read back as text. */
  text(v: unknown): unknown
}
