// Watching the statements a store executes, for tests (test/reliability/statement-org.test.ts
// checks that each one carries the caller's organization). A store opened with `observe`
// (openSqliteStore, openPostgresStore) has its driver's connections wrapped here, once, at open:
// every statement text and its bound arguments go to the observer as the statement is handed to
// the database (the writer's transactions, the reader, the scanning reads as they are dispatched
// to the SQLite read workers or the PostgreSQL pool, the log file's reads, appends and prunes,
// PostgreSQL's event stamper). A store opened without it has none of this: no wrapper, no check
// per statement. Not watched: migrations, the SQLite pragmas and BEGIN/COMMIT/SAVEPOINT, the
// background checkpoint, PostgreSQL's settings, advisory migration lock and cancels, backups.
import { AsyncResource } from 'node:async_hooks'
import { LOG_FILE_INSERT, LOG_FILE_PRUNE } from '../dialect/sqlite-log-file.mjs'
import type { Conn } from './prepared.ts'
import type { LogFileDriver, StoreDriver } from './store-driver.ts'

/** Where a statement went. */
export type StatementConn = 'writer' | 'reader' | 'scanner' | 'log-file'

export interface ObservedStatement {
  readonly sql: string
  readonly params: readonly unknown[]
  readonly conn: StatementConn
}

/**
 * Called synchronously with each statement before it runs, in the async context of the code
 * that issued it (a write transaction's work runs in the context of the `write` call that queued
 * it, even when the SQLite group committer runs it in a batch another request started).
 */
export type StatementObserver = (s: ObservedStatement) => void


export function observedConn(conn: Conn, role: StatementConn, observe: StatementObserver): Conn {
  return {
    all(sql, params, deadline) {
      observe({ sql, params, conn: role })
      return conn.all(sql, params, deadline)
    },
    run(sql, params) {
      observe({ sql, params, conn: role })
      return conn.run(sql, params)
    },
  }
}

function observedLogFile(log: LogFileDriver, observe: StatementObserver): LogFileDriver {
  return {
    ...log,
    reader: observedConn(log.reader, 'log-file', observe),
    append(rows) {
      // One statement per row, as the worker runs them (its arguments as the appender made them:
      // the ids in text, where the file keeps them as keys).
      for (const r of rows) observe({ sql: LOG_FILE_INSERT, params: r, conn: 'log-file' })
      return log.append(rows)
    },
    prune(orgId, beforeId, limit) {
      observe({ sql: LOG_FILE_PRUNE, params: [orgId, orgId, beforeId, limit], conn: 'log-file' })
      return log.prune(orgId, beforeId, limit)
    },
  }
}

/** `driver` with every connection it hands the store reporting its statements to `observe`. */
export function observedDriver(driver: StoreDriver, observe: StatementObserver): StoreDriver {
  const reader = observedConn(driver.reader, 'reader', observe)
  const scanner = driver.scanner === driver.reader ? reader : observedConn(driver.scanner, 'scanner', observe)
  return {
    ...driver,
    reader,
    scanner,
    ...(driver.logFile ? { logFile: observedLogFile(driver.logFile, observe) } : {}),
    // The work is bound to the caller's async context: the group committer runs a batch's jobs
    // in the context of whichever job started it.
    transaction: (fn, opts) => driver.transaction(AsyncResource.bind((conn: Conn) => fn(observedConn(conn, 'writer', observe))), opts),
  }
}
