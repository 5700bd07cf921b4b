// 0005 rebuilds SQLite's membership table with 16-byte keys: a database written before it keeps
// every membership, readable through the store, and the planner keeps using the member index.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely'
import { describe, expect, it } from 'vitest'
import { openSqliteStore } from '../dialect/sqlite.ts'
import type { OrgId } from '../store.ts'
import { initial } from './0001-initial.ts'
import { sqlitePlannerStats } from './0002-sqlite-planner-stats.ts'

describe('migration 0005 on SQLite', () => {
  it('keeps every membership of a database written with text ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-0005-'))
    const path = join(dir, 'r.db')
    try {
      // The schema as 0001 and 0002 left it, with rows written in its text form.
      const raw = new BetterSqlite3(path)
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) })
      const before: Record<string, Migration> = { '0001-initial': initial('sqlite'), '0002-sqlite-planner-stats': sqlitePlannerStats('sqlite') }
      const { error } = await new Migrator({ db, provider: { getMigrations: () => Promise.resolve(before) } }).migrateToLatest()
      expect(error).toBeUndefined()
      const org = '0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b'
      const group = '0190a1b2-c3d4-7e5f-8a6b-000000000001'
      const users = ['0190a1b2-c3d4-7e5f-8a6b-00000000000a', '0190a1b2-c3d4-7e5f-8a6b-00000000000b']
      const now = '2026-01-01T00:00:00.000Z'
      raw.prepare('insert into orgs (id, name, name_folded, created_at) values (?, ?, ?, ?)').run(org, 'o', 'o', now)
      raw.prepare(`insert into groups (org_id, id, display_name, display_name_folded, version, created_at, updated_at, data) values (?, ?, 'G', 'g', 1, ?, ?, '{"displayName":"G"}')`).run(org, group, now, now)
      for (const [i, u] of users.entries()) {
        raw.prepare(`insert into users (org_id, id, user_name, user_name_folded, active, version, created_at, updated_at, data) values (?, ?, ?, ?, 1, 1, ?, ?, ?)`)
          .run(org, u, `u${i}@example.com`, `u${i}@example.com`, now, now, JSON.stringify({ userName: `u${i}@example.com` }))
        raw.prepare('insert into group_members (org_id, group_id, member_id, member_type) values (?, ?, ?, ?)').run(org, group, u, 'User')
      }
      await db.destroy()

      const store = await openSqliteStore({ path })
      const g = await store.getGroup(org as OrgId, group, { withMembership: true })
      expect(g?.members?.map((m) => m.value)).toEqual(users)
      const u = await store.getUser(org as OrgId, users[1] as string, { withMembership: true })
      expect(u?.groups).toEqual([{ value: group, display: 'G' }])
      await store.close()

      const check = new BetterSqlite3(path, { readonly: true })
      expect(check.prepare('select typeof(member_id) as t, length(member_id) as n from group_members limit 1').get()).toEqual({ t: 'blob', n: 16 })
      const plan = check.prepare(`explain query plan select group_id from group_members where org_id = ? and member_id = ?`).all(Buffer.alloc(16), Buffer.alloc(16)) as { detail: string }[]
      expect(plan.map((p) => p.detail).join(' ')).toContain('group_members_member')
      check.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
