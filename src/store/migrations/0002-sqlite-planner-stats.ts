// SQLite's query planner, without statistics, assumes an equality on an index's first column
// selects about ten rows. Every index here starts with org_id, which selects a whole
// organization, so the planner took `org_id = ?` on the wrong index and scanned an
// organization's memberships to find one user's groups. These fixed statistics describe the
// shape of the data instead (SQLite documents hand-written sqlite_stat1 rows: "Manual Control
// Of Query Plans Using SQLITE_STAT Tables"): an organization is large, and the columns after
// org_id are selective. They describe proportions, not counts, so they do not go stale.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

const STATS: readonly [table: string, index: string, stat: string][] = [
  ['orgs', 'sqlite_autoindex_orgs_1', '10000 1'],
  ['orgs', 'sqlite_autoindex_orgs_2', '10000 1'],
  ['org_domains', 'sqlite_autoindex_org_domains_1', '20000 2 1'],
  ['scim_tokens', 'sqlite_autoindex_scim_tokens_1', '20000 2 1'],
  ['scim_tokens', 'scim_tokens_hash', '20000 1'],
  ['users', 'sqlite_autoindex_users_1', '10000000 100000 1'],
  ['users', 'users_user_name', '10000000 100000 1'],
  ['users', 'users_external_id', '10000000 100000 2'],
  ['users', 'users_updated_at', '10000000 100000 2'],
  ['user_emails', 'sqlite_autoindex_user_emails_1', '20000000 200000 2 1'],
  ['user_emails', 'user_emails_user', '20000000 200000 2'],
  ['groups', 'sqlite_autoindex_groups_1', '1000000 10000 1'],
  ['groups', 'groups_display_name', '1000000 10000 1'],
  ['groups', 'groups_external_id', '1000000 10000 2'],
  ['group_members', 'sqlite_autoindex_group_members_1', '100000000 1000000 1000 1'],
  ['group_members', 'group_members_member', '100000000 1000000 10 1'],
]

export function sqlitePlannerStats(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind !== 'sqlite') return
      // ANALYZE of an empty schema object creates sqlite_stat1 without gathering anything.
      await sql`analyze sqlite_schema`.execute(db)
      await sql`delete from sqlite_stat1`.execute(db)
      for (const [tbl, idx, stat] of STATS) await sql`insert into sqlite_stat1 (tbl, idx, stat) values (${tbl}, ${idx}, ${stat})`.execute(db)
      // Loads the rows into the planner of this connection; other connections read them when they open.
      await sql`analyze sqlite_schema`.execute(db)
    },
  }
}
