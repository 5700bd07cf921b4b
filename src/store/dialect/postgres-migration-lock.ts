// Servers starting at once on one PostgreSQL database migrate one after the other: each holds a
// session-level advisory lock (postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS)
// while it migrates, on a connection of its own (a pool of one could not lend the migrations
// another). Kysely's migrator locks its own table too, but two servers creating that table at
// the same moment can collide in PostgreSQL's catalog; the advisory lock comes first.
import pg from 'pg'

/** The lock's key: any fixed 64-bit number no other application on the database uses ('roster' in ASCII). */
export const MIGRATION_LOCK_KEY = '125779519303026'

export async function withMigrationLock<T>(url: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    return await fn()
  } finally {
    // Ending the session releases the lock, even when the unlock could not be sent.
    await client.end().catch(() => undefined)
  }
}
