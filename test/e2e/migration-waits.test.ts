// A start that finds the database busy migrating waits for it, however long the migration takes
// (docs/architecture.md DUR-12): a migration of a large database outlasts the bounds a request's
// statement is held to (SQLite's busy timeout, PostgreSQL's statement_timeout), and a start
// given up at that bound is a server that cannot start while another process migrates, or after
// a killed migration's PostgreSQL session, still finishing its statement, holds its locks. The
// bounds are made short here so that the waits outlast them quickly; the stores' options are
// the ones `roster serve` passes its defaults through.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kysely, Migrator, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { openPostgresStore } from '../../src/store/dialect/postgres.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import { migrationNames, migrationsUpTo } from '../../src/store/migrations/index.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const HOLD_MS = 1_500

describe('a start waits for a migration in progress', () => {
  const dir = mkdtempSync(join(tmpdir(), 'roster-migration-waits-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('SQLite: a process holding the write lock longer than the busy timeout (as a long migration does) delays the start; it does not fail it', async () => {
    const path = join(dir, 'r.db')
    await (await openSqliteStore({ path })).close()
    // Another process in a write transaction, as a migrating `roster serve` is from its first
    // statement to its COMMIT (better-sqlite3 is synchronous: the holder cannot be this process).
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(process.argv[1])
      db.exec('BEGIN IMMEDIATE')
      process.stdout.write('held\\n')
      setTimeout(() => { db.exec('COMMIT'); db.close() }, ${HOLD_MS})`, path], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] })
    await once(holder.stdout, 'data')
    // The held-up start says why it waits, once, naming the file.
    const said = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    let store: Awaited<ReturnType<typeof openSqliteStore>>
    let lines: string[]
    try {
      store = await openSqliteStore({ path, busyTimeoutMs: 100 })
    } finally {
      lines = said.mock.calls.map((c) => String(c[0]))
      said.mockRestore()
    }
    expect(lines.filter((l) => l.includes('locked by another process'))).toEqual([expect.stringContaining(path)])
    try {
      expect(await store.appliedMigrations()).toEqual(migrationNames())
    } finally {
      await store.close()
      holder.kill('SIGKILL')
    }
  })

  it.runIf(adminUrl)('PostgreSQL: a migration statement waiting on a lock longer than statement_timeout delays the start; it does not fail it', async () => {
    const { url, drop } = await createTestDatabase(adminUrl as string, 'roster_waits')
    try {
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
      const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(migrationsUpTo('postgres', '0004-provisioning-log')) } }).migrateToLatest()
      await db.destroy()
      expect(error).toBeUndefined()
      // A session holding the users table (as a killed migration's backend does until it notices
      // its client is gone): 0006's index on users waits for it.
      const holder = new pg.Client({ connectionString: url })
      await holder.connect()
      await holder.query('begin')
      await holder.query('lock table users in exclusive mode')
      const release = setTimeout(() => void holder.query('commit'), HOLD_MS)
      try {
        const store = await openPostgresStore({ url, statementTimeoutMs: 200, poolSize: 2 })
        try {
          expect(await store.appliedMigrations()).toEqual(migrationNames())
        } finally {
          await store.close()
        }
      } finally {
        clearTimeout(release)
        await holder.end()
      }
    } finally {
      await drop()
    }
  })
})
