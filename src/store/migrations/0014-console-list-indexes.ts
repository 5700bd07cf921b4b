// Indexes for the console's server-side filters (docs/console.md), so that each answers a page
// from an index in the order it is shown instead of scanning an organization:
// - users_state: the directory API's `state` filter (pending, active, suspended). The state is
//   the expression `active + active * pending` (0 suspended, 1 active, 2 pending), spelled
//   exactly so in the query (SQLite matches an expression index by its text), then `id`, the
//   directory's page order.
// - provisioning_log_idp: the provisioning log's identity-provider filter, newest first
//   (org_id, identity_provider, id). SQLite's log file (roster-log.db) gets the same index at
//   its schema version 2 (store/dialect/sqlite-log-file.mjs).
// The operator's organization list pages on the unique index of orgs.name_folded (0001).
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

// sqlite_stat1 rows in the manner of 0002: an organization is large; a state or an identity
// provider still selects a large part of it, so an index on a more selective column wins.
const STATS: readonly [table: string, index: string, stat: string][] = [
  ['users', 'users_state', '10000000 100000 33333 1'],
  ['provisioning_log', 'provisioning_log_idp', '10000000 100000 20000 1'],
]

export function consoleListIndexes(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`create index users_state on users (org_id, (active + active * pending), id)`.execute(db)
      await sql`create index provisioning_log_idp on provisioning_log (org_id, identity_provider, id)`.execute(db)
      if (kind === 'sqlite') {
        for (const [tbl, idx, stat] of STATS) await sql`insert into sqlite_stat1 (tbl, idx, stat) values (${tbl}, ${idx}, ${stat})`.execute(db)
        await sql`analyze sqlite_schema`.execute(db)
      }
    },
  }
}
