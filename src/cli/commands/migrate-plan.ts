// `roster migrate --dry-run`: the migrations this version would apply to the configured
// database, read without changing anything (a SQLite file that does not exist is not created).
import { existsSync } from 'node:fs'
import type { DatabaseConfig } from '../../config.ts'
import { migrationNames } from '../../store/migrations/index.ts'
import { openStore } from '../../store/open.ts'

export interface MigrationPlan {
  readonly applied: readonly string[]
  readonly pending: readonly string[]
  /** Applied to the database but unknown to this version (the database is newer than the code). */
  readonly unknown: readonly string[]
}

export async function migrationPlan(db: DatabaseConfig): Promise<MigrationPlan> {
  const known = migrationNames()
  if (db.kind === 'sqlite' && (db.path === ':memory:' || !existsSync(db.path))) return { applied: [], pending: known, unknown: [] }
  const store = await openStore(db, { migrate: false, sqliteReadWorkers: 0, sqliteBackgroundCheckpoint: false, poolSize: 1 })
  try {
    // A database never migrated has no kysely_migration table yet.
    const applied = await store.appliedMigrations().catch(() => [] as string[])
    return { applied, pending: known.filter((m) => !applied.includes(m)), unknown: applied.filter((m) => !known.includes(m)) }
  } finally {
    await store.close()
  }
}
