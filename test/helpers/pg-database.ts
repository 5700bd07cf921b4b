// A fresh PostgreSQL database on the test run's cluster (TEST_DATABASE_URL), and its removal.
import { randomBytes } from 'node:crypto'
import pg from 'pg'

async function admin(adminUrl: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl })
  await c.connect()
  try {
    await c.query(statement)
  } finally {
    await c.end()
  }
}

/** Creates `<prefix>_<random>` and returns its URL and a function that drops it (closing its connections). */
export async function createTestDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  await admin(adminUrl, `create database ${name}`)
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return { url: u.toString(), drop: () => admin(adminUrl, `drop database if exists ${name} with (force)`) }
}
