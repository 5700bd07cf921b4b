// The provisioning log (one row per SCIM request of an organization) and vendor API keys.
// provisioning_log is keyed (org_id, id): `id` is a UUIDv7 taken at the request's arrival, so
// one b-tree serves newest-first paging (`id < cursor`), `since` (`id >= <first id of that
// millisecond>`) and retention (`id < <first id of the cut-off>`). Two partial indexes serve
// the other filters without costing the common row anything: by resource (rows that touched
// one), and by status class (failures only). api_keys are vendor-wide credentials, not
// organization data, so they carry no org_id (like orgs itself). docs/provisioning-log.md.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

// sqlite_stat1 rows in the manner of 0002: an organization has many rows; a resource few.
const STATS: readonly [table: string, index: string, stat: string][] = [
  ['provisioning_log', 'sqlite_autoindex_provisioning_log_1', '10000000 100000 1'],
  ['provisioning_log', 'provisioning_log_resource', '5000000 50000 10 1'],
  ['provisioning_log', 'provisioning_log_failed', '100000 1000 500 1'],
  ['api_keys', 'sqlite_autoindex_api_keys_1', '1000 1'],
  ['api_keys', 'api_keys_hash', '1000 1'],
]

export function provisioningLog(kind: DialectKind): Migration {
  // Ids compare as code points in both databases (UUIDv7 text sorts by time).
  const idType = kind === 'postgres' ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('provisioning_log')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('identity_provider', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text')
        .addColumn('resource_id', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('scim_type', 'text')
        .addColumn('detail', 'text')
        .addColumn('duration_us', 'integer', (c) => c.notNull())
        // JSON text: written once, read whole, never queried inside.
        .addColumn('changes', 'text')
        .addColumn('notes', 'text')
        .addPrimaryKeyConstraint('provisioning_log_pk', ['org_id', 'id'])
        .$call((t) => (kind === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
        .execute()
      await sql`create index provisioning_log_resource on provisioning_log (org_id, resource_id, id) where resource_id is not null`.execute(db)
      // The expression and the predicate are spelled exactly so in every query that uses it
      // (SQLite matches an expression index and a partial index's WHERE by their text).
      await sql`create index provisioning_log_failed on provisioning_log (org_id, (status / 100), id) where status >= 400`.execute(db)

      await db.schema.createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute()
      await db.schema.createIndex('api_keys_hash').on('api_keys').column('hash').unique().execute()

      if (kind === 'sqlite') {
        for (const [tbl, idx, stat] of STATS) await sql`insert into sqlite_stat1 (tbl, idx, stat) values (${tbl}, ${idx}, ${stat})`.execute(db)
        await sql`analyze sqlite_schema`.execute(db)
      }
    },
  }
}
