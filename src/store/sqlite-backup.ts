// `roster backup PATH` and `roster restore PATH` for the SQLite store (docs/operations.md,
// backups). A backup is `VACUUM INTO` (sqlite.org/lang_vacuum.html#vacuuminto): one read
// transaction, so the copy is the database as of one moment, taken while the server keeps
// writing (WAL mode: readers and the writer do not block each other), and unlike the online
// backup API it does not start over when a write lands meanwhile. Both files are copied: the
// database and its log file (roster.db → roster-log.db, store/dialect/sqlite-log-file.mjs).
// PostgreSQL is backed up with its own tools (pg_dump, or base backups with WAL archiving).
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { ConfigError, type DatabaseConfig } from '../config.ts'
import { logFilePath } from './dialect/sqlite-log-file.mjs'

export interface BackupResult {
  readonly files: readonly { readonly from: string; readonly to: string; readonly bytes: number }[]
}

function sqlitePath(db: DatabaseConfig, what: string): string {
  if (db.kind === 'postgres') {
    throw new ConfigError('ROSTER_ERR_BACKUP_POSTGRES', `roster ${what} is for the SQLite store; back PostgreSQL up with pg_dump or base backups with WAL archiving (docs/operations.md)`)
  }
  if (db.path === ':memory:') throw new ConfigError('ROSTER_ERR_BACKUP_MEMORY', `an in-memory database cannot be ${what === 'backup' ? 'backed up' : 'restored'}`)
  return db.path
}

function vacuumInto(from: string, to: string): number {
  const db = new BetterSqlite3(from, { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 15000')
    db.prepare('VACUUM INTO ?').run(to)
  } finally {
    db.close()
  }
  return statSync(to).size
}

/** Copies the database (and its log file, when there is one) to `to` (and its log file's name beside it). */
export function backup(db: DatabaseConfig, to: string): BackupResult {
  const from = sqlitePath(db, 'backup')
  if (!existsSync(from)) throw new ConfigError('ROSTER_ERR_BACKUP_SOURCE', `There is no database at ${from} (ROSTER_DATABASE_URL)`)
  if (!existsSync(dirname(to))) throw new ConfigError('ROSTER_ERR_BACKUP_TARGET', `The folder ${dirname(to)} does not exist`)
  const pairs = [[from, to], [logFilePath(from), logFilePath(to)]].filter(([f]) => existsSync(f as string)) as [string, string][]
  for (const [, t] of pairs) if (existsSync(t)) throw new ConfigError('ROSTER_ERR_BACKUP_TARGET', `${t} already exists: a backup never overwrites a file`)
  const files = pairs.map(([f, t]) => {
    try {
      return { from: f, to: t, bytes: vacuumInto(f, t) }
    } catch (e) {
      rmSync(t, { force: true })
      throw new ConfigError('ROSTER_ERR_BACKUP_FAILED', `${f} could not be copied to ${t}: ${(e as Error).message}`)
    }
  })
  return { files }
}

function check(file: string): void {
  let db: BetterSqlite3.Database | null = null
  try {
    db = new BetterSqlite3(file, { readonly: true, fileMustExist: true })
    const r = db.pragma('quick_check', { simple: true })
    if (r !== 'ok') throw new Error(String(r))
  } catch (e) {
    throw new ConfigError('ROSTER_ERR_RESTORE_SOURCE', `${file} is not a sound SQLite database: ${(e as Error).message}`)
  } finally {
    db?.close()
  }
}

/**
 * Puts the backup at `from` (and its log file) in place of the configured database. The server
 * must be stopped: its open connections would go on with the files they had. An existing
 * database is replaced only with `force`.
 */
export function restore(db: DatabaseConfig, from: string, opts: { force: boolean }): BackupResult {
  const to = sqlitePath(db, 'restore')
  if (!existsSync(from)) throw new ConfigError('ROSTER_ERR_RESTORE_SOURCE', `There is no backup at ${from}`)
  if (existsSync(to) && !opts.force) throw new ConfigError('ROSTER_ERR_RESTORE_EXISTS', `${to} exists: stop the server, then run roster restore again with --force to replace it`)
  check(from)
  const log = logFilePath(from)
  if (existsSync(log)) check(log)
  const files: { from: string; to: string; bytes: number }[] = []
  for (const [f, t] of [[from, to], [log, logFilePath(to)]] as const) {
    // The replaced database's WAL and shared-memory files belong to it, not to the backup.
    for (const extra of [`${t}-wal`, `${t}-shm`, `${t}-journal`]) rmSync(extra, { force: true })
    if (!existsSync(f)) {
      rmSync(t, { force: true }) // a log file the backup does not have is started afresh
      continue
    }
    const tmp = `${t}.restore-${process.pid}`
    copyFileSync(f, tmp)
    renameSync(tmp, t)
    files.push({ from: f, to: t, bytes: statSync(t).size })
  }
  return { files }
}
