// Every migration applied to a database with data in it: a database at the first schema (0001),
// holding an organization with its domain and token, two users with their emails and a group of
// both, is opened by the current store, which applies 0002 to the latest in one go. Every row is
// still there and readable through the store: the token finds its organization, the users their
// group, the group its members, a filter finds a user by email. On SQLite and PostgreSQL (SQLite's
// own 0005 rebuild has its test beside the migration).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { hashToken } from '../../src/orgs/tokens.ts'
import { parseFilter } from '../../src/scim/filter/parser.ts'
import { initial } from '../../src/store/migrations/0001-initial.ts'
import { migrationNames } from '../../src/store/migrations/index.ts'
import { openStore } from '../../src/store/open.ts'
import type { OrgId, Store } from '../../src/store/store.ts'
import type { DatabaseConfig } from '../../src/config.ts'
import { createTestDatabase } from '../helpers/pg-database.ts'

const adminUrl = process.env.TEST_DATABASE_URL
const ORG = '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b'
const GROUP = '0190a1b2-c3d4-7e5f-8a6b-000000000001'
const USERS = ['0190a1b2-c3d4-7e5f-8a6b-00000000000a', '0190a1b2-c3d4-7e5f-8a6b-00000000000b']
const TOKEN = 'roster_scim_upgrade-test-token-0001'
const NOW = '2026-01-01T00:00:00.000Z'

/** The rows, written as the 0001 schema holds them. */
async function writeAt0001(db: Kysely<unknown>): Promise<void> {
  await sql`insert into orgs (id, name, name_folded, created_at) values (${ORG}, 'Old Corp', 'old corp', ${NOW})`.execute(db)
  await sql`insert into org_domains (org_id, domain) values (${ORG}, 'old.test')`.execute(db)
  await sql`insert into scim_tokens (org_id, id, hash, prefix, created_at) values (${ORG}, 'tok1', ${hashToken(TOKEN)}, 'roster_scim', ${NOW})`.execute(db)
  await sql`insert into groups (org_id, id, display_name, display_name_folded, version, created_at, updated_at, data)
    values (${ORG}, ${GROUP}, 'Old Team', 'old team', 1, ${NOW}, ${NOW}, ${JSON.stringify({ displayName: 'Old Team' })})`.execute(db)
  for (const [i, u] of USERS.entries()) {
    const userName = `u${i}@old.test`
    const data = { userName, emails: [{ value: userName, type: 'work', primary: true }], active: true }
    await sql`insert into users (org_id, id, user_name, user_name_folded, active, version, created_at, updated_at, data)
      values (${ORG}, ${u}, ${userName}, ${userName}, 1, 1, ${NOW}, ${NOW}, ${JSON.stringify(data)})`.execute(db)
    await sql`insert into user_emails (org_id, value_folded, user_id, type, is_primary) values (${ORG}, ${userName}, ${u}, 'work', 1)`.execute(db)
    await sql`insert into group_members (org_id, group_id, member_id, member_type) values (${ORG}, ${GROUP}, ${u}, 'User')`.execute(db)
  }
}

async function upgradeFrom0001(db: Kysely<unknown>, kind: 'sqlite' | 'postgres'): Promise<void> {
  const first: Record<string, Migration> = { '0001-initial': initial(kind) }
  const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(first) } }).migrateToLatest()
  expect(error).toBeUndefined()
  await writeAt0001(db)
}

async function expectReadable(store: Store): Promise<void> {
  expect(await store.appliedMigrations()).toEqual(migrationNames())
  const orgId = ORG as OrgId
  expect((await store.tokenOrg(hashToken(TOKEN)))?.orgId).toBe(orgId)
  expect((await store.getOrg(ORG))?.domains).toEqual(['old.test'])
  const g = await store.getGroup(orgId, GROUP, { withMembership: true })
  expect(g?.members?.map((m) => m.value).sort()).toEqual([...USERS].sort())
  const u = await store.getUser(orgId, USERS[1] as string, { withMembership: true })
  expect(u?.body.userName).toBe('u1@old.test')
  expect(u?.groups).toEqual([{ value: GROUP, display: 'Old Team' }])
  const byEmail = await store.listUsers(orgId, { filter: parseFilter('emails.value eq "U0@OLD.TEST"'), sortBy: null, sortOrder: 'ascending', startIndex: 1, count: 10 }, { withMembership: false })
  expect(byEmail.rows.map((r) => r.id)).toEqual([USERS[0]])
}

describe('every migration on a database with data in it, from the first schema', () => {
  it('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-upgrade-'))
    const path = join(dir, 'r.db')
    try {
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) })
      try {
        await upgradeFrom0001(db, 'sqlite')
      } finally {
        await db.destroy()
      }
      const store = await openStore({ kind: 'sqlite', path } as DatabaseConfig, { migrate: true, sqliteReadWorkers: 0 })
      try {
        await expectReadable(store)
      } finally {
        await store.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.skipIf(!adminUrl)('postgres', async () => {
    const t = await createTestDatabase(adminUrl as string, 'roster_upgrade')
    try {
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: t.url, max: 1 }) }) })
      try {
        await upgradeFrom0001(db, 'postgres')
      } finally {
        await db.destroy()
      }
      const store = await openStore({ kind: 'postgres', url: t.url } as DatabaseConfig, { migrate: true, poolSize: 2 })
      try {
        await expectReadable(store)
      } finally {
        await store.close()
      }
    } finally {
      await t.drop()
    }
  })
})
