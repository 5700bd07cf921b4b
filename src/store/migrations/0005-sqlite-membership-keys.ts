// SQLite: membership rows hold ids as 16-byte keys instead of 36-character text
// (dialect/sqlite-sql.ts idKey/idText). A membership row and its two index entries shrink
// from ~115 to ~50 bytes of key, so a PATCH adding 100 members writes far fewer pages
// (measured: the membership inserts of a 100-member PATCH took a third less time). PostgreSQL
// keeps text ids; nothing changes there.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function sqliteMembershipKeys(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind !== 'sqlite') return
      await sql`create table group_members_keyed (
        org_id blob not null, group_id blob not null, member_id blob not null, member_type text not null,
        primary key (org_id, group_id, member_id)) without rowid`.execute(db)
      // Every stored id is a canonical UUID (src/ids.ts); a row that is not would fail NOT NULL here.
      await sql`insert into group_members_keyed select unhex(org_id, '-'), unhex(group_id, '-'), unhex(member_id, '-'), member_type from group_members`.execute(db)
      await sql`drop table group_members`.execute(db)
      await sql`alter table group_members_keyed rename to group_members`.execute(db)
      // Covering (group_id included), so a user's groups are read from the index alone.
      await sql`create index group_members_member on group_members (org_id, member_id, group_id)`.execute(db)
      // The planner statistics of 0002 for these indexes, under the rebuilt table's index names.
      await sql`delete from sqlite_stat1 where tbl in ('group_members', 'group_members_keyed')`.execute(db)
      const pk = await sql<{ name: string }>`select name from pragma_index_list('group_members') where origin = 'pk'`.execute(db)
      for (const { name } of pk.rows) await sql`insert into sqlite_stat1 (tbl, idx, stat) values ('group_members', ${name}, '100000000 1000000 1000 1')`.execute(db)
      await sql`insert into sqlite_stat1 (tbl, idx, stat) values ('group_members', 'group_members_member', '100000000 1000000 10 1')`.execute(db)
      await sql`analyze sqlite_schema`.execute(db)
    },
  }
}
