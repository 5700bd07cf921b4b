// Migrations 0012 (unique_values), 0013 (server_info) and 0014 (the console's list indexes) on a
// database of the version before them, with data in it: the upgrade keeps every organization,
// user, declared attribute value and token; a declared attribute made unique afterwards indexes
// the values already held and refuses a second holder; the upgraded database records a server's
// base URL and gives it back. The previous version's database is this version's with the later
// migrations, then 0014, 0013 and 0012 undone in that order (two indexes, a table, a table: dropped, their records removed).
// On SQLite and PostgreSQL.
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
import { declareSchema, orgResources } from '../../src/provisioning/org-schemas.ts'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { openStore } from '../../src/store/open.ts'
import type { DatabaseConfig } from '../../src/config.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
// The migrations after 0014 are undone first (newest first), so that 0012–0014 are the last ones
// missing: a migration added later adds its own undo at the top.
const UNDO = [
  'alter table invitations drop column first_failure_ms', "delete from kysely_migration where name = '0019-invitation-first-failure'",
  'drop index invitations_sent', "delete from kysely_migration where name = '0018-invitations-sent'",
  'alter table console_sessions drop column authenticated_at', "delete from kysely_migration where name = '0017-console-session-authenticated'",
  'drop index webhook_deliveries_endpoint_due', "delete from kysely_migration where name = '0016-webhook-endpoint-due'",
  'alter table orgs drop column settings_version', "delete from kysely_migration where name = '0015-org-settings-version'",
  'drop index users_state', 'drop index provisioning_log_idp', "delete from kysely_migration where name = '0014-console-list-indexes'",
  'drop table server_info', "delete from kysely_migration where name = '0013-server-info'",
  'drop table unique_values', "delete from kysely_migration where name = '0012-unique-values'",
]
const EXT = 'urn:example:params:scim:schemas:extension:upgrade:2.0:User'

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

describe.each(cases)('migrations 0012–0014 ($name)', (c) => {
  it('upgrades a database with data from the version before it; the server base URL is recorded and read back', async () => {
    const { db, undo, drop } = await c.open()
    try {
      const first = await openStore(db, { migrate: true, sqliteReadWorkers: 0 })
      const deps: Deps = { store: first, now: () => new Date(), newId: uuidV7Generator(), limits: DEFAULT_LIMITS }
      const org = await createOrg(deps, 'Before 0013', ['before.test'])
      await declareSchema(deps, org.orgId, { id: EXT, name: 'Upgrade', attributes: [{ name: 'badge', type: 'string' }] }, 'test')
      const rs = await orgResources(deps, org.orgId)
      await createUser(deps, org.orgId, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT], userName: 'ada@before.test', [EXT]: { badge: 'B-1' } }, undefined, rs.user)
      await first.close()
      await undo()

      const upgraded = await openStore(db, { migrate: true, sqliteReadWorkers: 0 })
      try {
        expect(await upgraded.appliedMigrations()).toEqual(migrationNames())
        expect((await upgraded.tokenOrg(hashToken(org.token)))?.orgId).toBe(org.orgId)
        expect((await upgraded.getOrg('before 0013'))?.domains).toEqual(['before.test'])
        const users = await upgraded.listUsers(org.orgId, { filter: null, sortBy: null, sortOrder: 'ascending', startIndex: 1, count: 10 }, { withMembership: false })
        expect(users.rows.map((u) => u.body.userName)).toEqual(['ada@before.test'])

        // 0012: the value held before the upgrade is indexed when the attribute becomes unique.
        const after: Deps = { ...deps, store: upgraded }
        await declareSchema(after, org.orgId, { id: EXT, name: 'Upgrade', attributes: [{ name: 'badge', type: 'string', uniqueness: 'server' }] }, 'test')
        const second = createUser(after, org.orgId, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT], userName: 'grace@before.test', [EXT]: { badge: 'B-1' } }, undefined, (await orgResources(after, org.orgId)).user)
        await expect(second).rejects.toMatchObject({ status: 409, scimType: 'uniqueness' })

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
