// Migration 0013 (server_info) on a database of the version before it, with data in it: the
// upgrade keeps every organization, user and token, and the upgraded database records a server's
// base URL and gives it back. The previous version's database is this version's with 0013 and
// what came after it undone (0013 adds a table, 0014 two indexes: dropped, their records
// removed). On SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { uuidV7Generator } from '../../src/ids.ts'
import { recordServerBase, tenantBase } from '../../src/ops/public-url.ts'
import { DEFAULT_LIMITS, type Deps } from '../../src/provisioning/deps.ts'
import { createOrg } from '../../src/provisioning/orgs.ts'
import { hashToken } from '../../src/orgs/tokens.ts'
import { createUser } from '../../src/provisioning/users.ts'
import { userResource } from '../../src/scim/schema/registry.ts'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { openStore } from '../../src/store/open.ts'
import type { DatabaseConfig } from '../../src/config.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const UNDO = [
  'drop index users_state', 'drop index provisioning_log_idp', "delete from kysely_migration where name = '0014-console-list-indexes'",
  'drop table server_info', "delete from kysely_migration where name = '0013-server-info'",
]

const cases: { name: string; open: () => Promise<{ db: DatabaseConfig; undo: () => Promise<void>; drop: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'roster-0013-'))
      const path = join(dir, 'r.db')
      return {
        db: { kind: 'sqlite', path },
        undo: async () => {
          const raw = new BetterSqlite3(path)
          for (const s of UNDO) raw.exec(s)
          raw.close()
        },
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      }
    },
  },
  ...(adminUrl ? [{
    name: 'postgres',
    open: async () => {
      const t = await createTestDatabase(adminUrl, 'roster_0013')
      return {
        db: { kind: 'postgres', url: t.url } as DatabaseConfig,
        undo: async () => {
          const c = new pg.Client({ connectionString: t.url })
          await c.connect()
          for (const s of UNDO) await c.query(s)
          await c.end()
        },
        drop: t.drop,
      }
    },
  }] : []),
]

describe.each(cases)('migration 0013 ($name)', (c) => {
  it('upgrades a database with data from the version before it; the server base URL is recorded and read back', async () => {
    const { db, undo, drop } = await c.open()
    try {
      const first = await openStore(db, { migrate: true, sqliteReadWorkers: 0 })
      const deps: Deps = { store: first, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
      const org = await createOrg(deps, 'Before 0013', ['before.test'])
      await createUser(deps, org.orgId, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada@before.test' }, undefined, userResource)
      await first.close()
      await undo()

      const upgraded = await openStore(db, { migrate: true, sqliteReadWorkers: 0 })
      try {
        expect(await upgraded.appliedMigrations()).toEqual(migrationNames())
        expect((await upgraded.tokenOrg(hashToken(org.token)))?.orgId).toBe(org.orgId)
        expect((await upgraded.getOrg('before 0013'))?.domains).toEqual(['before.test'])
        const users = await upgraded.listUsers(org.orgId, { filter: null, sortBy: null, sortOrder: 'ascending', startIndex: 1, count: 10 }, { withMembership: false })
        expect(users.rows.map((u) => u.body.userName)).toEqual(['ada@before.test'])

        const config = { publicUrl: null, host: '127.0.0.1', port: 8080 }
        expect(await tenantBase(upgraded, config)).toEqual({ url: 'http://127.0.0.1:8080', source: 'HOST and PORT' })
        await recordServerBase(upgraded, { publicUrl: null }, 'http://127.0.0.1:41234', new Date())
        expect(await tenantBase(upgraded, config)).toEqual({ url: 'http://127.0.0.1:41234', source: 'server' })
        await recordServerBase(upgraded, { publicUrl: 'https://scim.example.com' }, 'http://127.0.0.1:41235', new Date())
        expect(await tenantBase(upgraded, config)).toEqual({ url: 'https://scim.example.com', source: 'server' })
      } finally {
        await upgraded.close()
      }
    } finally {
      await drop()
    }
  })
})
