// Picks the store for a database configuration. Only the CLI and the server's entry point call it.
import { ConfigError, type DatabaseConfig } from '../config.ts'
import { NotDurable } from './dialect/postgres-durability.ts'
import { openSqliteStore } from './dialect/sqlite.ts'
import type { Store } from './store.ts'

export async function openStore(db: DatabaseConfig, opts: { migrate: boolean; sqliteReadWorkers?: number; sqliteCacheMiB?: number; sqliteBackgroundCheckpoint?: boolean; poolSize?: number }): Promise<Store> {
  try {
    if (db.kind === 'sqlite') return await openSqliteStore({ path: db.path, migrate: opts.migrate, readWorkers: opts.sqliteReadWorkers, writerCacheMiB: opts.sqliteCacheMiB, backgroundCheckpoint: opts.sqliteBackgroundCheckpoint })
    const { openPostgresStore } = await import('./dialect/postgres.ts')
    return await openPostgresStore({ url: db.url, migrate: opts.migrate, poolSize: opts.poolSize, allowFsyncOff: db.allowFsyncOff })
  } catch (e) {
    throw openError(e, db)
  }
}

/** Error codes of a connection that never came up (node's and PostgreSQL's, SQLSTATE 28xxx and 3D000). */
const UNREACHABLE = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET|28P01|28000|3D000)$/

/** Why the database could not be opened, with its cause and a code (docs/errors.md); the URL's password never shown. */
function openError(e: unknown, db: DatabaseConfig): unknown {
  if (e instanceof ConfigError) return e
  if (e instanceof NotDurable) return new ConfigError('ROSTER_ERR_DB_NOT_DURABLE', e.message)
  let cause: unknown = e
  while (cause instanceof Error && cause.cause instanceof Error && !('code' in cause && typeof cause.code === 'string')) cause = cause.cause
  const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : ''
  const message = cause instanceof Error ? cause.message : String(cause)
  if (db.kind === 'sqlite') return new ConfigError('ROSTER_ERR_DB_OPEN', `The SQLite database ${db.path} cannot be opened: ${message}`)
  const where = redactedUrl(db.url)
  if (UNREACHABLE.test(code)) return new ConfigError('ROSTER_ERR_DB_UNREACHABLE', `PostgreSQL at ${where} cannot be reached: ${message}`)
  return new ConfigError('ROSTER_ERR_DB_OPEN', `PostgreSQL at ${where} cannot be opened: ${message}`)
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return 'ROSTER_DATABASE_URL'
  }
}
