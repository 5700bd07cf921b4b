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
  return { url: u.toString(), drop: () => dropDatabase(adminUrl, name) }
}

/**
 * `drop database … with (force)` signals the database's sessions to end and gives up (55006,
 * object_in_use) if they have not within five seconds, which a backend deep in a long scan its
 * client has left can take: it is tried again for up to a minute.
 */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin(adminUrl, `drop database if exists ${name} with (force)`)
      return
    } catch (e) {
      if ((e as { code?: string }).code !== '55006' || attempt >= 12) throw e
    }
  }
}
