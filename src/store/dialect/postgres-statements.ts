// PostgreSQL's own forms of the statements that look up a list of ids under a key prefix.
// `member_id = any($ids)` under `org_id = $1 and group_id = $2` lets the planner scan the whole
// group and filter, and it does whenever it thinks the group is small: a group created since
// the last ANALYZE is not among the most common values, so it is estimated at a row or two.
// A 100-member PATCH on a 19,200-member group then read all 19,200 rows (0.51 x the rate of a
// 50-member group in the benchmark). These forms look up each id on the full key, one unique
// index probe per id, whatever the statistics say; the delete then removes the rows found by
// their row ids (a TID scan). Same arguments and results as the shared statements they replace;
// the member lookups also lock what they find (below).
import { sql, type Kysely, type RawBuilder } from 'kysely'
import { arg, prepare } from '../kysely/prepared.ts'
import type { Database } from '../kysely/schema.ts'
import type { Statements } from '../kysely/statements.ts'

export function postgresStatements(db: Kysely<Database>): Partial<Statements> {
  const compiled = (q: RawBuilder<unknown>) => prepare({ compile: () => q.compile(db) })
  const ids = (i: number) => sql`unnest(${arg(i)}::text[])`
  return {
    deleteSomeMembers: compiled(sql`delete from group_members where ctid = any(array(
      select (select m.ctid from group_members m where m.org_id = ${arg(0)} and m.group_id = ${arg(1)} and m.member_id = v)
      from ${ids(2)} as v)) returning member_id as key, member_type as type`),
    memberKeysAmong: compiled(sql`select v as key from ${ids(2)} as v
      where exists (select 1 from group_members m where m.org_id = ${arg(0)} and m.group_id = ${arg(1)} and m.member_id = v)`),
    // The members a write adds are locked FOR KEY SHARE until it commits: a concurrent DELETE of
    // one of them (which takes FOR UPDATE first) waits, then removes the new membership row with
    // the rest; one that deleted first is seen as gone here (400). Without the lock a membership
    // could outlive its member (docs/architecture.md ROS-3). KEY SHARE blocks no update of the
    // member's other columns.
    existingUsers: compiled(sql`select u.id from ${ids(1)} as v join users u on u.org_id = ${arg(0)} and u.id = v for key share of u`),
    existingGroups: compiled(sql`select g.id from ${ids(1)} as v join groups g on g.org_id = ${arg(0)} and g.id = v for key share of g`),
  }
}
