// A database that lives for one run of a spawned server or a script, removed when `fn` ends: a
// SQLite file in a temporary folder, or a new database on the test run's PostgreSQL cluster.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from './pg-database.ts'

/** `fn` on the URL of a new SQLite file (in a folder named after `prefix`), removed afterwards. */
export async function onSqliteFile<T>(prefix: string, fn: (databaseUrl: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  try {
    return await fn(`sqlite:${join(dir, 'roster.db')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `fn` on the URL of a new database `<prefix>_<random>` of the cluster at `adminUrl`, dropped afterwards. */
export async function onPostgresDatabase<T>(adminUrl: string, prefix: string, fn: (databaseUrl: string) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(adminUrl, prefix)
  try {
    return await fn(db.url)
  } finally {
    await db.drop()
  }
}
