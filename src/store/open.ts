// Picks the store for a database configuration. Only the CLI and the server's entry point call it.
import type { DatabaseConfig } from '../config.ts'
import { openSqliteStore } from './dialect/sqlite.ts'
import type { Store } from './store.ts'

export async function openStore(db: DatabaseConfig, opts: { migrate: boolean; sqliteReadWorkers?: number; sqliteBackgroundCheckpoint?: boolean; poolSize?: number }): Promise<Store> {
  if (db.kind === 'sqlite') return openSqliteStore({ path: db.path, migrate: opts.migrate, readWorkers: opts.sqliteReadWorkers, backgroundCheckpoint: opts.sqliteBackgroundCheckpoint })
  const { openPostgresStore } = await import('./dialect/postgres.ts')
  return openPostgresStore({ url: db.url, migrate: opts.migrate, poolSize: opts.poolSize })
}
