// Every fixed statement of the store, compiled once per store for its dialect. Statements
// whose shape depends on the request (filters, sorting) are built per call in list-pager.ts.
import { sql, type Kysely } from 'kysely'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import { arg, prepare, type Prepared } from './prepared.ts'
import type { Database } from './schema.ts'

/** A resource row's columns as every read of one selects them (rows.ts ResourceRecord). */
export const RESOURCE = ['id', 'version', 'created_at', 'updated_at', 'data'] as const
const USER_COLUMNS = ['user_name', 'user_name_folded', 'external_id', 'active', 'display_name'] as const
const GROUP_COLUMNS = ['display_name', 'display_name_folded', 'external_id'] as const
/** What the directory API and events show beside the body (schema.ts, migration 0007). */
export const USER_DIRECTORY = ['managed_by', 'identity_provider', 'custom_attributes', 'pending', 'metadata'] as const
export const GROUP_DIRECTORY = ['managed_by', 'identity_provider', 'member_count'] as const
const API_KEY_COLUMNS = ['id', 'name', 'prefix', 'created_at', 'revoked_at', 'org_id', 'scopes', 'expires_at', 'last_used_at'] as const
export const LOG_COLUMNS = [
  'org_id', 'id', 'at', 'request_id', 'identity_provider', 'method', 'path', 'resource_type', 'resource_id',
  'status', 'scim_type', 'detail', 'duration_us', 'changes', 'notes',
] as const
/** Rows per multi-row log insert (15 parameters each: well under both databases' limits). */
export const LOG_CHUNK = 64

function named<const K extends readonly string[]>(keys: K, from: number): Record<K[number], never> {
  return Object.fromEntries(keys.map((k, i) => [k, arg(from + i)])) as Record<K[number], never>
}

/**
 * The groups of the user row `t`, as the JSON text of `[[id, displayName], …]` in display-name
 * order: a column of the user's own query, so that reading a user with its groups is one
 * statement (on PostgreSQL one round trip) instead of two.
 */
export function groupsColumn(b: Kysely<Database>, d: SqlDialect) {
  const user = sql.ref('t.id')
  const org = sql.ref('t.org_id')
  const q = b.selectFrom('group_members as m')
    .innerJoin('groups as g', (j) => j.on('g.org_id', '=', org as never).on('g.id', '=', d.idText(sql.ref('m.group_id')) as never))
    .select(d.pairsJson(sql.ref('g.id'), sql.ref('g.display_name'), sql.ref('g.display_name_folded')).as('j'))
    .where('m.org_id', '=', d.idKey(org) as never).where('m.member_id', '=', d.idKey(user) as never)
  return sql<string>`(${q})`.as('groups')
}

/**
 * A group's members as MemberRow (arguments: org, group; for a page also the limit, and after the
 * first page the member id to continue after), so that a group of 50,000 is read into one set of
 * objects. In key order, which is the ids' text order (canonical ids are lower-case hex): on
 * SQLite the primary key's own order, so no sort.
 */
export function membersQuery(b: Kysely<Database>, d: SqlDialect, part: 'all' | 'first' | 'after') {
  const key = (n: number): never => d.idKey(sql`${arg(n)}`) as never
  return b.selectFrom((eb) => {
    let k = eb.selectFrom('group_members as k')
      .select([d.idText(sql.ref('k.member_id')).as('member_id'), 'k.member_type', 'k.member_id as member_key'])
      .where('k.org_id', '=', key(0)).where('k.group_id', '=', key(1))
    if (part === 'after') k = k.where('k.member_id', '>', key(3))
    return (part === 'all' ? k : k.orderBy('k.member_id').limit(arg(2))).as('m')
  })
    .leftJoin('users as u', (j) => j.on('u.org_id', '=', arg(0)).onRef('u.id', '=', 'm.member_id'))
    .leftJoin('groups as g', (j) => j.on('g.org_id', '=', arg(0)).onRef('g.id', '=', 'm.member_id'))
    .select([
      'm.member_id as value',
      sql<'User' | 'Group'>`case when m.member_type = 'Group' then 'Group' else 'User' end`.as('type'),
      sql<string | null>`case when m.member_type = 'Group' then g.display_name else coalesce(u.display_name, u.user_name) end`.as('display'),
    ])
    .orderBy('m.member_key')
}

export function statements(b: Kysely<Database>, d: SqlDialect, lockRows: boolean) {
  const lock = <Q extends { forUpdate(): Q }>(q: Q): Q => (lockRows ? q.forUpdate() : q)
  const ids = (n: number) => sql`${arg(n)}`
  /** Argument `n`, a resource or organization id, as a membership key. */
  const keyExpr = (n: number) => d.idKey(sql`${arg(n)}`)
  const key = (n: number): never => keyExpr(n) as never
  return {
    tokenOrg: prepare(b.selectFrom('scim_tokens').select('org_id').where('hash', '=', arg(0)).where('revoked_at', 'is', null)),
    tokenOrgVersion: prepare(b.selectFrom('scim_tokens as t').innerJoin('orgs as o', 'o.id', 't.org_id').select(['t.org_id', 'o.schema_version'])
      .where('t.hash', '=', arg(0)).where('t.revoked_at', 'is', null)),
    orgById: prepare(b.selectFrom('orgs').selectAll().where('id', '=', arg(0))),
    orgByName: prepare(b.selectFrom('orgs').selectAll().where('name_folded', '=', arg(0))),
    orgs: prepare(b.selectFrom('orgs').selectAll().orderBy('name_folded')),
    orgDomains: prepare(b.selectFrom('org_domains').select('domain').where('org_id', '=', arg(0)).orderBy('domain')),

    user: prepare(b.selectFrom('users').select(RESOURCE).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    userWithGroups: prepare(b.selectFrom('users as t').select([...RESOURCE.map((c) => `t.${c}` as const), groupsColumn(b, d)]).where('t.org_id', '=', arg(0)).where('t.id', '=', arg(1))),
    // A user's groups read inside its write, for the write's answer (provisioning/users.ts modifyUser).
    userGroupsOf: prepare(b.selectFrom('users as t').select([groupsColumn(b, d)]).where('t.org_id', '=', arg(0)).where('t.id', '=', arg(1))),
    userForUpdate: prepare(lock(b.selectFrom('users').select([...RESOURCE, ...USER_DIRECTORY]).where('org_id', '=', arg(0)).where('id', '=', arg(1)))),
    userIdByName: prepare(b.selectFrom('users').select('id').where('org_id', '=', arg(0)).where('user_name_folded', '=', arg(1))),
    userByName: prepare(b.selectFrom('users').select(RESOURCE).where('org_id', '=', arg(0)).where('user_name_folded', '=', arg(1))),
    userByNameWithGroups: prepare(b.selectFrom('users as t').select([...RESOURCE.map((c) => `t.${c}` as const), groupsColumn(b, d)]).where('t.org_id', '=', arg(0)).where('t.user_name_folded', '=', arg(1))),
    // Membership keys are d.idKey of the ids (sql-dialect.ts); every join to users and groups
    // names the organization by its argument and the resource by d.idText of the key.
    // A list page's users' groups in one statement (a page of 100 users: ~20 µs less than the
    // per-row groups column, measured in isolation).
    groupsOf: prepare(b.selectFrom('group_members as m')
      .innerJoin('groups as g', (j) => j.on('g.org_id', '=', arg(0)).on('g.id', '=', d.idText(sql.ref('m.group_id')) as never))
      .select([d.idText(sql.ref('m.member_id')).as('member_id'), 'g.id', 'g.display_name'])
      .where('m.org_id', '=', key(0)).where((eb) => eb.and([d.inIdKeys(sql.ref('m.member_id'), ids(1)) as never]))
      .orderBy('g.display_name_folded')),
    insertUser: prepare(b.insertInto('users').values({
      org_id: arg(0), id: arg(1), ...named(USER_COLUMNS, 2), password_hash: arg(7), version: 1, created_at: arg(8), updated_at: arg(8), data: arg(9),
      managed_by: arg(12), identity_provider: arg(10), custom_attributes: arg(11), pending: arg(13), metadata: arg(14),
    })),
    updateUserCustom: prepare(b.updateTable('users').set({ custom_attributes: arg(2) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    updateUser: prepare(b.updateTable('users').set({ ...named(USER_COLUMNS, 2), version: arg(7), updated_at: arg(8), data: arg(9) })
      .where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    updateUserPassword: prepare(b.updateTable('users').set({ password_hash: arg(2) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    deleteUser: prepare(b.deleteFrom('users').where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    insertEmails: prepare(b.insertInto('user_emails').columns(['org_id', 'user_id', 'value_folded', 'type', 'is_primary'])
      .expression((eb) => eb.selectFrom(d.recordSource(sql`${arg(2)}`, [['v', 'text'], ['t', 'text'], ['p', 'integer']], 'r') as never)
        .select([sql`${arg(0)}`.as('o'), sql`${arg(1)}`.as('u'), sql.ref('r.v').as('v'), sql.ref('r.t').as('t'), sql`cast(r.p as integer)`.as('p')])
        .where(d.true as never))),
    // The usual user has one address: plain values, no JSON for the database to take apart.
    insertEmail: prepare(b.insertInto('user_emails').values({ org_id: arg(0), user_id: arg(1), value_folded: arg(2), type: arg(3), is_primary: arg(4) })),
    deleteEmails: prepare(b.deleteFrom('user_emails').where('org_id', '=', arg(0)).where('user_id', '=', arg(1))),
    // The groups a deleted resource was a member of, for their counts, versions and events.
    deleteMemberships: prepare(b.deleteFrom('group_members').where('org_id', '=', key(0)).where('member_id', '=', key(1))
      .returning(sql.ref('group_id').as('key'))),
    // PostgreSQL: the rows of the groups a resource is a member of, locked in id order (leaveGroups).
    lockMemberGroups: prepare(lock(b.selectFrom('groups').select('id').where('org_id', '=', arg(0))
      .where(sql<boolean>`id in (select ${d.idText(sql.ref('m.group_id'))} from group_members as m where m.org_id = ${keyExpr(0)} and m.member_id = ${keyExpr(1)})` as never)
      .orderBy('id'))),
    leaveGroups: prepare(b.updateTable('groups').set((eb) => ({ member_count: eb('member_count', '-', 1), version: eb('version', '+', 1), updated_at: arg(2) }))
      .where('org_id', '=', arg(0)).where((eb) => eb.and([d.inIds(sql.ref('id'), ids(1)) as never]))
      .returning([...RESOURCE, ...GROUP_DIRECTORY])),

    group: prepare(b.selectFrom('groups').select(RESOURCE).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    groupForUpdate: prepare(lock(b.selectFrom('groups').select([...RESOURCE, ...GROUP_DIRECTORY]).where('org_id', '=', arg(0)).where('id', '=', arg(1)))),
    groupIdByName: prepare(b.selectFrom('groups').select('id').where('org_id', '=', arg(0)).where('display_name_folded', '=', arg(1))),
    groupByName: prepare(b.selectFrom('groups').select([...RESOURCE, ...GROUP_DIRECTORY]).where('org_id', '=', arg(0)).where('display_name_folded', '=', arg(1))),
    members: prepare(membersQuery(b, d, 'all')),
    insertGroup: prepare(b.insertInto('groups').values({
      org_id: arg(0), id: arg(1), ...named(GROUP_COLUMNS, 2), version: 1, created_at: arg(5), updated_at: arg(5), data: arg(6),
      managed_by: 'scim', identity_provider: arg(7), member_count: 0,
    })),
    // Every membership change keeps the count: added minus removed rows (a replace removed them all first).
    addMemberCount: prepare(b.updateTable('groups').set((eb) => ({ member_count: eb('member_count', '+', arg(2)) })).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    updateGroup: prepare(b.updateTable('groups').set({ ...named(GROUP_COLUMNS, 2), version: arg(5), updated_at: arg(6), data: arg(7) })
      .where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    touchGroup: prepare(b.updateTable('groups').set({ version: arg(2), updated_at: arg(3) }).where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    deleteGroup: prepare(b.deleteFrom('groups').where('org_id', '=', arg(0)).where('id', '=', arg(1))),
    deleteAllMembers: prepare(b.deleteFrom('group_members').where('org_id', '=', key(0)).where('group_id', '=', key(1))),
    // The rows a membership change removed and added, for its events (store.ts MemberDeltaResult).
    removeAllMembers: prepare(b.deleteFrom('group_members').where('org_id', '=', key(0)).where('group_id', '=', key(1))
      .returning([sql.ref('member_id').as('key'), 'member_type as type'])),
    deleteSomeMembers: prepare(b.deleteFrom('group_members').where('org_id', '=', key(0)).where('group_id', '=', key(1))
      .where((eb) => eb.and([d.inIdKeys(sql.ref('member_id'), ids(2)) as never]))
      .returning([sql.ref('member_id').as('key'), 'member_type as type'])),
    insertMembers: prepare(b.insertInto('group_members').columns(['org_id', 'group_id', 'member_id', 'member_type'])
      .expression((eb) => eb.selectFrom(d.recordSource(sql`${arg(2)}`, [['v', 'text'], ['t', 'text']], 'r') as never)
        .select([keyExpr(0).as('o'), keyExpr(1).as('g'), d.idKey(sql.ref('r.v')).as('v'), sql.ref('r.t').as('t')])
        .where(d.true as never))
      .onConflict((oc) => oc.doNothing())),
    // The usual member PATCH adds users that are not members yet: the insert itself finds each id
    // among the organization's users (write-tx.ts addNewUserMembers) instead of a read before it.
    insertUserMembers: prepare(b.insertInto('group_members').columns(['org_id', 'group_id', 'member_id', 'member_type'])
      .expression((eb) => eb.selectFrom('users').select([keyExpr(0).as('o'), keyExpr(1).as('g'), d.idKey(sql.ref('id')).as('v'), sql.lit('User').as('t')])
        .where('org_id', '=', arg(0)).where((w) => w.and([d.inIds(sql.ref('id'), ids(2)) as never])))
      .onConflict((oc) => oc.doNothing())),
    // Which of a list of ids are members already: the rest are what an insert adds (a RETURNING
    // on the insert, with its keys made text again, cost a 100-member PATCH more than this read).
    memberKeysAmong: prepare(b.selectFrom('group_members').select(sql.ref('member_id').as('key')).where('org_id', '=', key(0)).where('group_id', '=', key(1))
      .where((eb) => eb.and([d.inIdKeys(sql.ref('member_id'), ids(2)) as never]))),
    existingUsers: prepare(b.selectFrom('users').select('id').where('org_id', '=', arg(0)).where((eb) => eb.and([d.inIds(sql.ref('id'), ids(1)) as never]))),
    existingGroups: prepare(b.selectFrom('groups').select('id').where('org_id', '=', arg(0)).where((eb) => eb.and([d.inIds(sql.ref('id'), ids(1)) as never]))),

    insertOrg: prepare(b.insertInto('orgs').values({ id: arg(0), name: arg(1), name_folded: arg(2), created_at: arg(3), settings: '{}' })),
    renameOrg: prepare(b.updateTable('orgs').set({ name: arg(1), name_folded: arg(2) }).where('id', '=', arg(0))),
    insertDomain: prepare(b.insertInto('org_domains').values({ org_id: arg(0), domain: arg(1), state: 'unverified', added_at: arg(2) })),
    revokeTokens: prepare(b.updateTable('scim_tokens').set({ revoked_at: arg(1) }).where('org_id', '=', arg(0)).where('revoked_at', 'is', null)),
    insertToken: prepare(b.insertInto('scim_tokens').values({ org_id: arg(0), id: arg(1), hash: arg(2), prefix: arg(3), created_at: arg(4), revoked_at: null, last_four: arg(5) })),
    insertLog: prepare(b.insertInto('provisioning_log').values(named(LOG_COLUMNS, 0))),
    insertLogChunk: prepare(b.insertInto('provisioning_log').values(Array.from({ length: LOG_CHUNK }, (_, i) => named(LOG_COLUMNS, i * LOG_COLUMNS.length)))),
    // The oldest rows first, a bounded batch at a time (retention; docs/provisioning-log.md).
    pruneLog: prepare(b.deleteFrom('provisioning_log').where('org_id', '=', arg(0))
      .where('id', 'in', (eb) => eb.selectFrom('provisioning_log').select('id').where('org_id', '=', arg(0)).where('id', '<', arg(1)).orderBy('id').limit(arg(2)))),
    orgIds: prepare(b.selectFrom('orgs').select('id').orderBy('id')),
    revokedTokenOrg: prepare(b.selectFrom('scim_tokens').select('org_id').where('hash', '=', arg(0)).where('revoked_at', 'is not', null)),

    apiKeyByHash: prepare(b.selectFrom('api_keys').select(API_KEY_COLUMNS).where('hash', '=', arg(0)).where('revoked_at', 'is', null)),
    apiKeys: prepare(b.selectFrom('api_keys').select(API_KEY_COLUMNS).orderBy('created_at').orderBy('id')),
    insertApiKey: prepare(b.insertInto('api_keys').values({
      id: arg(0), name: arg(1), hash: arg(2), prefix: arg(3), created_at: arg(4), revoked_at: null, org_id: arg(5), scopes: arg(6), expires_at: arg(7),
    })),
    touchApiKey: prepare(b.updateTable('api_keys').set({ last_used_at: arg(1) }).where('id', '=', arg(0))),
    revokeApiKey: prepare(b.updateTable('api_keys').set({ revoked_at: arg(1) })
      .where((eb) => eb.or([eb('id', '=', arg(0)), eb('name', '=', arg(0))])).where('revoked_at', 'is', null)),
    ping: prepare(b.selectNoFrom(sql<number>`1`.as('one'))),
  } satisfies Record<string, Prepared>
}

export type Statements = ReturnType<typeof statements>
