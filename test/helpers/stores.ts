// The store matrix for HTTP tests: every suite runs on a SQLite file, and on PostgreSQL when
// one is reachable (TEST_DATABASE_URL, or the throwaway cluster test/global-setup.ts starts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase } from './pg-database.ts'
import { openSqliteStore } from '../../src/store/dialect/sqlite.ts'
import type { Store } from '../../src/store/store.ts'

export interface StoreFactory {
  readonly name: 'sqlite' | 'postgres'
  open(): Promise<{ store: Store; url: string; cleanup: () => Promise<void> }>
}

const sqlite: StoreFactory = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'roster-test-'))
    const path = join(dir, 'roster.db')
    // One read worker, so the suite also runs the scanning reads through the worker pool.
    const store = await openSqliteStore({ path, readWorkers: 1 })
    return {
      store,
      url: `sqlite:${path}`,
      cleanup: async () => {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

function postgres(adminUrl: string): StoreFactory {
  return {
    name: 'postgres',
    async open() {
      const db = await createTestDatabase(adminUrl, 'roster_test')
      const { openPostgresStore } = await import('../../src/store/dialect/postgres.ts')
      const store = await openPostgresStore({ url: db.url, poolSize: 8 })
      return {
        store,
        url: db.url,
        cleanup: async () => {
          await store.close()
          await db.drop()
        },
      }
    },
  }
}

/** The stores this run tests against. */
export function storeMatrix(): StoreFactory[] {
  const url = process.env.TEST_DATABASE_URL
  return url ? [sqlite, postgres(url)] : [sqlite]
}

/** `base`, remembering the URL of the database it opened last (for a CLI process or raw clients on the same database). */
export function remembering(base: StoreFactory): { factory: StoreFactory; url: () => string } {
  let url = ''
  return {
    factory: { name: base.name, async open() {
      const opened = await base.open()
      url = opened.url
      return opened
    } },
    url: () => url,
  }
}
