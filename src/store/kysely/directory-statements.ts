// Fixed statements of the directory API and the event outbox (migration 0007), compiled once per
// store for its dialect like statements.ts. Directory lists are keyset pages in id order
// (`id > cursor`): a row that exists for the whole walk is seen exactly once however the rows
// around it change, which OFFSET paging cannot promise.
import { sql, type Kysely } from 'kysely'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import { arg, prepare, type Prepared } from './prepared.ts'
import type { Database } from './schema.ts'
import { GROUP_DIRECTORY, RESOURCE, USER_DIRECTORY, membersQuery } from './statements.ts'

const EVENT_COLUMNS = ['position', 'count', 'id', 'type', 'resource_id', 'lane', 'at', 'payload', 'members'] as const

export function directoryStatements(b: Kysely<Database>, d: SqlDialect) {
  const key = (n: number): never => d.idKey(sql`${arg(n)}`) as never
  const users = () => b.selectFrom('users').select([...RESOURCE, ...USER_DIRECTORY]).where('org_id', '=', arg(0))
  const groups = () => b.selectFrom('groups').select([...RESOURCE, ...GROUP_DIRECTORY]).where('org_id', '=', arg(0))
  // A user's groups: the membership index (org_id, member_id, group_id) in group-key order.
  const groupsOf = (after: boolean) => b.selectFrom((eb) => {
    let k = eb.selectFrom('group_members as k').select([d.idText(sql.ref('k.group_id')).as('group_id'), 'k.group_id as group_key'])
      .where('k.org_id', '=', key(0)).where('k.member_id', '=', key(1))
    if (after) k = k.where('k.group_id', '>', key(3))
    return k.orderBy('k.group_id').limit(arg(2)).as('m')
  })
    .innerJoin('groups as g', (j) => j.on('g.org_id', '=', arg(0)).onRef('g.id', '=', 'm.group_id'))
    .select([...RESOURCE.map((c) => `g.${c}` as const), ...GROUP_DIRECTORY.map((c) => `g.${c}` as const)])
    .orderBy('m.group_key')
  return {
    directoryUserById: prepare(users().where('id', '=', arg(1))),
    directoryUserByExternalId: prepare(users().where('external_id', '=', arg(1)).orderBy('id').limit(1)),
    directoryUserByName: prepare(users().where('user_name_folded', '=', arg(1))),
    directoryGroupById: prepare(groups().where('id', '=', arg(1))),
    membersFirst: prepare(membersQuery(b, d, 'first')),
    membersAfter: prepare(membersQuery(b, d, 'after')),
    userGroupsFirst: prepare(groupsOf(false)),
    userGroupsAfter: prepare(groupsOf(true)),

    // SQLite: the row after the last one, in the writing transaction (the single writer commits
    // in this order). Retention always keeps the newest row, so positions never go back.
    insertEvent: prepare(b.insertInto('events').values({
      position: sql<number>`coalesce((select l.position + l.count from events l order by l.position desc limit 1), 1)` as never,
      org_id: arg(0), id: arg(1), count: arg(2), type: arg(3), resource_type: arg(4), resource_id: arg(5), lane: arg(6),
      version: arg(7), at: arg(8), payload: arg(9), members: arg(10),
    })),
    // PostgreSQL: rows without a position, stamped after they commit (event-stamper.ts).
    insertEvents: prepare(b.insertInto('events').columns(['org_id', 'id', 'count', 'type', 'resource_type', 'resource_id', 'lane', 'version', 'at', 'payload', 'members'])
      .expression((eb) => eb.selectFrom(d.recordSource(sql`${arg(1)}`, [
        ['i', 'text'], ['n', 'integer'], ['t', 'text'], ['rt', 'text'], ['r', 'text'], ['l', 'text'], ['v', 'integer'], ['a', 'text'], ['p', 'text'], ['m', 'text'],
      ], 'e') as never)
        .select([sql`${arg(0)}`.as('o'), sql.ref('e.i').as('i'), sql`cast(e.n as integer)`.as('n'), sql.ref('e.t').as('t'), sql.ref('e.rt').as('rt'), sql.ref('e.r').as('r'),
          sql.ref('e.l').as('l'), sql`cast(e.v as integer)`.as('v'), sql.ref('e.a').as('a'), sql.ref('e.p').as('p'), sql.ref('e.m').as('m')])
        .where(d.true as never))),
    readEvents: prepare(b.selectFrom('events').select(EVENT_COLUMNS).where('org_id', '=', arg(0)).where('position', '>', arg(1))
      .orderBy('position').limit(arg(2))),
    readEventsOfTypes: prepare(b.selectFrom('events').select(EVENT_COLUMNS).where('org_id', '=', arg(0)).where('position', '>', arg(1))
      .where((eb) => eb.and([d.inIds(sql.ref('type'), sql`${arg(3)}`) as never]))
      .orderBy('position').limit(arg(2))),
    // The row that holds `after` itself, when a cursor stopped inside a membership row.
    eventRowAt: prepare(b.selectFrom('events').select(EVENT_COLUMNS).where('org_id', '=', arg(0)).where('position', '<=', arg(1))
      .orderBy('position', 'desc').limit(1)),
    eventBounds: prepare(b.selectFrom('events').select([
      sql<number | string | null>`min(position)`.as('oldest'), sql<number | string | null>`max(position + count - 1)`.as('newest'),
    ]).where('org_id', '=', arg(0)).where('position', 'is not', null)),
  } satisfies Record<string, Prepared>
}

export type DirectoryStatements = ReturnType<typeof directoryStatements>
