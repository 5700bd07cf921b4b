// PostgreSQL's own forms of the statements that look up a list of ids under a key prefix.
// `member_id = any($ids)` under `org_id = $1 and group_id = $2` lets the planner scan the whole
// group and filter, and it does whenever it thinks the group is small: a group created since
// the last ANALYZE is not among the most common values, so it is estimated at a row or two.
// A 100-member PATCH on a 19,200-member group then read all 19,200 rows (0.51 x the rate of a
// 50-member group in the benchmark). These forms look up each id on the full key, one unique
// index probe per id, whatever the statistics say; the delete then removes the rows found by
// their row ids (a TID scan). Same arguments and results as the shared statements they replace.
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
    existingUsers: compiled(sql`select v as id from ${ids(1)} as v
      where exists (select 1 from users u where u.org_id = ${arg(0)} and u.id = v)`),
    existingGroups: compiled(sql`select v as id from ${ids(1)} as v
      where exists (select 1 from groups g where g.org_id = ${arg(0)} and g.id = v)`),
  }
}
