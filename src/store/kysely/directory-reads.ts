// The directory API's reads and the event feed's, over the store's driver: keyset pages in id
// order (a filter compiled to SQL by the same filter-to-sql.ts as SCIM lists), single lookups,
// a group's members and a user's groups a page at a time, and the outbox's rows by position.
import { sql, type Compilable, type Kysely } from 'kysely'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type { Database } from './schema.ts'
import { groupResource, userResource, type ResourceSchema } from '../../scim/schema/registry.ts'
import { fold } from '../../scim/fold.ts'
import type { DirectoryPageQuery, GroupRow, MemberRow, OrgId, ResourceId, StoredEvents, UserRow, UserState } from '../store.ts'
import { all } from './conn-helpers.ts'
import type { DirectoryStatements } from './directory-statements.ts'
import type { CompileContext } from './filter-targets.ts'
import { filterToSql } from './filter-to-sql.ts'
import { toGroupRow, toUserRow, type ResourceRecord } from './rows.ts'
import { GROUP_DIRECTORY, RESOURCE, USER_DIRECTORY } from './statements.ts'
import type { StoreDriver } from './store-driver.ts'


interface EventRecord {
  position: number | string; count: number | string; id: string; type: string; resource_id: string; lane: string; at: string; payload: string; members: string | null
}

function toStoredEvents(r: EventRecord): StoredEvents {
  return {
    position: Number(r.position), count: Number(r.count), id: r.id, type: r.type, resourceId: r.resource_id, lane: r.lane, at: r.at, payload: r.payload, members: r.members,
  }
}

/** `active + active * pending` per state: 0 not active, 1 active, 2 active and pending. */
const STATE_CODE: Readonly<Record<UserState, number>> = { suspended: 0, active: 1, pending: 2 }

/** One page of the directory's users or groups in id order, as the store runs it. */
export function directoryPageQuery(builder: Kysely<Database>, dialect: SqlDialect, table: 'users' | 'groups', rs: ResourceSchema, orgId: OrgId, q: DirectoryPageQuery): Compilable {
  const columns = table === 'users' ? [...RESOURCE, ...USER_DIRECTORY] : [...RESOURCE, ...GROUP_DIRECTORY]
  let b = builder.selectFrom(`${table} as t` as 'users as t').select(columns.map((c) => `t.${c}` as 't.id')).where('t.org_id', '=', orgId)
  if (q.filter) {
    const ctx: CompileContext = { rs, dialect, orgId, alias: 't' }
    b = b.where(filterToSql(ctx, q.filter) as never)
  }
  if (table === 'users' && q.state != null) {
    // Spelled as migration 0014's users_state index spells it: SQLite matches the expression by its text.
    b = b.where(sql`(active + active * pending)`, '=', STATE_CODE[q.state])
  }
  if (q.after !== null) b = b.where('t.id', '>', q.after)
  if (q.updatedSince !== null) b = b.where('t.updated_at', '>=', q.updatedSince)
  return b.orderBy('t.id').limit(q.limit) as Compilable
}

export class DirectoryReads {
  readonly #d: StoreDriver
  readonly #st: DirectoryStatements

  constructor(driver: StoreDriver, st: DirectoryStatements) {
    this.#d = driver
    this.#st = st
  }

  async #page(table: 'users' | 'groups', rs: ResourceSchema, orgId: OrgId, q: DirectoryPageQuery): Promise<ResourceRecord[]> {
    const c = directoryPageQuery(this.#d.builder, this.#d.sql, table, rs, orgId, q).compile()
    // A filter may scan: it runs where SCIM's scanning reads run.
    return this.#d.scanner.all<ResourceRecord>(c.sql, c.parameters)
  }

  users(orgId: OrgId, q: DirectoryPageQuery): Promise<readonly UserRow[]> {
    return this.#d.read(async () => (await this.#page('users', q.rs ?? userResource, orgId, q)).map((r) => toUserRow(r)))
  }

  groups(orgId: OrgId, q: DirectoryPageQuery): Promise<readonly GroupRow[]> {
    return this.#d.read(async () => (await this.#page('groups', q.rs ?? groupResource, orgId, q)).map((r) => toGroupRow(r)))
  }

  user(orgId: OrgId, by: 'id' | 'externalId' | 'userName', value: string): Promise<UserRow | null> {
    return this.#d.read(async () => {
      const p = by === 'id' ? this.#st.directoryUserById : by === 'externalId' ? this.#st.directoryUserByExternalId : this.#st.directoryUserByName
      const [row] = await all<ResourceRecord>(this.#d.reader, p, [orgId, by === 'userName' ? fold(value) : value])
      return row ? toUserRow(row) : null
    })
  }

  group(orgId: OrgId, id: ResourceId): Promise<GroupRow | null> {
    return this.#d.read(async () => {
      const [row] = await all<ResourceRecord>(this.#d.reader, this.#st.directoryGroupById, [orgId, id])
      return row ? toGroupRow(row) : null
    })
  }

  members(orgId: OrgId, groupId: ResourceId, after: string | null, limit: number): Promise<readonly MemberRow[]> {
    return this.#d.read(() => after === null
      ? all<MemberRow>(this.#d.reader, this.#st.membersFirst, [orgId, groupId, limit])
      : all<MemberRow>(this.#d.reader, this.#st.membersAfter, [orgId, groupId, limit, after]))
  }

  userGroups(orgId: OrgId, userId: ResourceId, after: string | null, limit: number): Promise<readonly GroupRow[]> {
    return this.#d.read(async () => {
      const rows = after === null
        ? await all<ResourceRecord>(this.#d.reader, this.#st.userGroupsFirst, [orgId, userId, limit])
        : await all<ResourceRecord>(this.#d.reader, this.#st.userGroupsAfter, [orgId, userId, limit, after])
      return rows.map((r) => toGroupRow(r))
    })
  }

  readEvents(orgId: OrgId, after: number, limit: number, types: readonly string[] | null): Promise<readonly StoredEvents[]> {
    return this.#d.read(async () => {
      const out: StoredEvents[] = []
      if (after > 0) {
        // A cursor may stop inside a membership row: that row comes first, with what is left of it.
        const [r] = await all<EventRecord>(this.#d.reader, this.#st.eventRowAt, [orgId, after])
        if (r && Number(r.position) + Number(r.count) - 1 > after && (types === null || types.includes(r.type))) out.push(toStoredEvents(r))
      }
      const rows = types === null
        ? await all<EventRecord>(this.#d.reader, this.#st.readEvents, [orgId, after, limit])
        : await all<EventRecord>(this.#d.reader, this.#st.readEventsOfTypes, [orgId, after, limit, this.#d.sql.ids(types)])
      for (const r of rows) out.push(toStoredEvents(r))
      return out
    })
  }

  eventBounds(orgId: OrgId): Promise<{ oldest: number | null; newest: number }> {
    return this.#d.read(async () => {
      const [r] = await all<{ oldest: number | string | null; newest: number | string | null }>(this.#d.reader, this.#st.eventBounds, [orgId])
      return { oldest: r?.oldest == null ? null : Number(r.oldest), newest: r?.newest == null ? 0 : Number(r.newest) }
    })
  }

  /** Oldest first, a bounded batch at a time; events change no list, so like log batches they keep list caches. */
  pruneEvents(before: string, limit: number): Promise<number> {
    const q = this.#d.kind === 'postgres'
      // Unstamped rows are never pruned: they have not been served yet.
      ? sql`delete from events where seq in (select seq from events where at < ${before} and position is not null order by seq limit ${limit})`
      // The newest row stays: the next row's positions follow it (directory-statements.ts insertEvent).
      : sql`delete from events where position in (select position from events where at < ${before}
          and position < (select max(position) from events) order by position limit ${limit})`
    const c = q.compile(this.#d.builder)
    return this.#d.transaction((conn) => conn.run(c.sql, c.parameters), { logOnly: true })
  }
}
