// The Store over Kysely, shared by SQLite and PostgreSQL. What differs between them (how a
// write transaction runs, SQL spellings, error codes) is handed in as a StoreDriver.
import { sql, type Kysely } from 'kysely'
import type { Filter } from '../../scim/filter/ast.ts'
import { parseAttrPath } from '../../scim/filter/parser.ts'
import { fold } from '../../scim/fold.ts'
import { groupResource, userResource, type ResourceSchema } from '../../scim/schema/registry.ts'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type {
  GroupRef, GroupRow, ListQuery, ListResult, MemberDelta, MemberRow, NewGroup, NewUser, OrgId, OrgRow,
  ReadOptions, ResourceId, Store, StoreTx, UserRow,
} from '../store.ts'
import { filterToSql, sortExpr, type CompileContext } from './filter-to-sql.ts'
import { emailRows, groupColumns, toGroupRow, toUserRow, userColumns } from './rows.ts'
import type { Database } from './schema.ts'

type Db = Kysely<Database>

export interface StoreDriver {
  readonly kind: 'sqlite' | 'postgres'
  readonly sql: SqlDialect
  /** The handle reads go through (never sees another request's uncommitted writes). */
  readonly reader: Db
  /** Runs fn in one durable transaction; maps driver errors to UniqueViolation / StoreUnavailable. */
  transaction<T>(fn: (db: Db) => Promise<T>): Promise<T>
  /** Wraps a read so that driver failures become StoreUnavailable. */
  read<T>(fn: () => Promise<T>): Promise<T>
  /** Row lock for read-modify-write (PostgreSQL `FOR UPDATE`; SQLite's writer is already exclusive). */
  readonly lockRows: boolean
  close(): Promise<void>
}

/** Largest number of bound values in one IN list (well under SQLite's 32,766 variable limit). */
const CHUNK = 500

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

export class KyselyStore implements Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly #d: StoreDriver

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.kind = driver.kind
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#d.transaction((db) => fn(new KyselyTx(db, this.#d)))
  }

  orgByTokenHash(hash: string): Promise<OrgId | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('scim_tokens').select('org_id')
        .where('hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst()
      return row ? (row.org_id as OrgId) : null
    })
  }

  getOrg(idOrName: string): Promise<OrgRow | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('orgs').selectAll()
        .where((eb) => eb.or([eb('id', '=', idOrName), eb('name_folded', '=', fold(idOrName))]))
        .executeTakeFirst()
      return row ? this.#orgRow(row) : null
    })
  }

  listOrgs(): Promise<readonly OrgRow[]> {
    return this.#d.read(async () => {
      const rows = await this.#d.reader.selectFrom('orgs').selectAll().orderBy('name_folded').execute()
      return Promise.all(rows.map((r) => this.#orgRow(r)))
    })
  }

  async #orgRow(r: { id: string; name: string; created_at: string }): Promise<OrgRow> {
    const domains = await this.#d.reader.selectFrom('org_domains').select('domain').where('org_id', '=', r.id).orderBy('domain').execute()
    return { id: r.id as OrgId, name: r.name, createdAt: r.created_at, domains: domains.map((d) => d.domain) }
  }

  getUser(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<UserRow | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('users').select(['id', 'version', 'created_at', 'updated_at', 'data'])
        .where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst()
      if (!row) return null
      const user = toUserRow(row)
      if (!opts.withMembership) return user
      const groups = await this.#groupsOf(orgId, [id])
      return { ...user, groups: groups.get(id) ?? [] }
    })
  }

  async #groupsOf(orgId: OrgId, userIds: readonly string[]): Promise<Map<string, GroupRef[]>> {
    const out = new Map<string, GroupRef[]>()
    for (const part of chunks(userIds)) {
      const rows = await this.#d.reader.selectFrom('group_members as m')
        .innerJoin('groups as g', (j) => j.onRef('g.org_id', '=', 'm.org_id').onRef('g.id', '=', 'm.group_id'))
        .select(['m.member_id', 'g.id', 'g.display_name'])
        .where('m.org_id', '=', orgId).where('m.member_id', 'in', part)
        .orderBy('g.display_name_folded').execute()
      for (const r of rows) {
        const list = out.get(r.member_id) ?? []
        list.push({ value: r.id, display: r.display_name })
        out.set(r.member_id, list)
      }
    }
    return out
  }

  listUsers(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<UserRow>> {
    return this.#d.read(async () => {
      const { total, rows } = await this.#list(orgId, userResource, 'users', query, sql.ref('t.user_name_folded'))
      const users = rows.map(toUserRow)
      if (!opts.withMembership || users.length === 0) return { total, rows: users }
      const groups = await this.#groupsOf(orgId, users.map((u) => u.id))
      return { total, rows: users.map((u) => ({ ...u, groups: groups.get(u.id) ?? [] })) }
    })
  }

  listGroups(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<GroupRow>> {
    return this.#d.read(async () => {
      const { total, rows } = await this.#list(orgId, groupResource, 'groups', query, sql.ref('t.display_name_folded'))
      const groups = rows.map(toGroupRow)
      if (!opts.withMembership) return { total, rows: groups }
      const out: GroupRow[] = []
      for (const g of groups) out.push({ ...g, members: await this.#members(orgId, g.id) })
      return { total, rows: out }
    })
  }

  /** Count and page under one WHERE; ordered by the sort key, then id, so pages are stable. */
  async #list(orgId: OrgId, rs: ResourceSchema, table: 'users' | 'groups', q: ListQuery, defaultOrder: ReturnType<typeof sql.ref>) {
    const ctx: CompileContext = { rs, dialect: this.#d.sql, orgId, alias: 't' }
    const where = q.filter ? filterToSql(ctx, q.filter as Filter) : null
    const base = () => {
      let b = this.#d.reader.selectFrom(`${table} as t` as 'users as t').where('t.org_id', '=', orgId)
      if (where) b = b.where(where as never)
      return b
    }
    const countRow = await base().select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst()
    const total = Number(countRow?.n ?? 0)
    if (q.count === 0 || q.startIndex > total) return { total, rows: [] }
    const order = q.sortBy ? sortExpr(ctx, parseAttrPath(q.sortBy)) : defaultOrder
    const dir = q.sortOrder === 'descending' ? sql`desc` : sql`asc`
    const rows = await base()
      .select(['t.id', 't.version', 't.created_at', 't.updated_at', 't.data'])
      .orderBy(sql`${order} ${dir}`).orderBy('t.id', q.sortOrder === 'descending' ? 'desc' : 'asc')
      .limit(q.count).offset(q.startIndex - 1)
      .execute()
    return { total, rows }
  }

  getGroup(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<GroupRow | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('groups').select(['id', 'version', 'created_at', 'updated_at', 'data'])
        .where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst()
      if (!row) return null
      const group = toGroupRow(row)
      return opts.withMembership ? { ...group, members: await this.#members(orgId, id) } : group
    })
  }

  async #members(orgId: OrgId, groupId: string): Promise<MemberRow[]> {
    const rows = await this.#d.reader.selectFrom('group_members as m')
      .leftJoin('users as u', (j) => j.onRef('u.org_id', '=', 'm.org_id').onRef('u.id', '=', 'm.member_id'))
      .leftJoin('groups as g', (j) => j.onRef('g.org_id', '=', 'm.org_id').onRef('g.id', '=', 'm.member_id'))
      .select(['m.member_id', 'm.member_type', 'u.display_name as user_display', 'u.user_name', 'g.display_name as group_display'])
      .where('m.org_id', '=', orgId).where('m.group_id', '=', groupId)
      .orderBy('m.member_id').execute()
    return rows.map((r) => ({
      value: r.member_id,
      type: r.member_type === 'Group' ? 'Group' : 'User',
      display: r.member_type === 'Group' ? r.group_display : r.user_display ?? r.user_name,
    }))
  }

  findUserIdByUserName(orgId: OrgId, userName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('users').select('id')
        .where('org_id', '=', orgId).where('user_name_folded', '=', fold(userName)).executeTakeFirst()
      return row?.id ?? null
    })
  }

  findGroupIdByDisplayName(orgId: OrgId, displayName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => {
      const row = await this.#d.reader.selectFrom('groups').select('id')
        .where('org_id', '=', orgId).where('display_name_folded', '=', fold(displayName)).executeTakeFirst()
      return row?.id ?? null
    })
  }

  ping(): Promise<void> {
    return this.#d.read(async () => {
      await sql`select 1`.execute(this.#d.reader)
    })
  }

  close(): Promise<void> {
    return this.#d.close()
  }
}

class KyselyTx implements StoreTx {
  readonly #db: Db
  readonly #d: StoreDriver

  constructor(db: Db, driver: StoreDriver) {
    this.#db = db
    this.#d = driver
  }

  async insertUser(orgId: OrgId, u: NewUser): Promise<void> {
    await this.#db.insertInto('users').values({
      org_id: orgId, id: u.id, ...userColumns(u.body), password_hash: u.passwordHash,
      version: 1, created_at: u.now, updated_at: u.now, data: JSON.stringify(u.body),
    }).execute()
    await this.#insertEmails(orgId, u.id, u.body)
  }

  async #insertEmails(orgId: OrgId, userId: string, body: Record<string, unknown>): Promise<void> {
    const rows = emailRows(body)
    if (rows.length === 0) return
    await this.#db.insertInto('user_emails').values(rows.map((r) => ({ org_id: orgId, user_id: userId, ...r }))).execute()
  }

  async getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null> {
    let q = this.#db.selectFrom('users').select(['id', 'version', 'created_at', 'updated_at', 'data'])
      .where('org_id', '=', orgId).where('id', '=', id)
    if (this.#d.lockRows) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? toUserRow(row) : null
  }

  async updateUser(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, passwordHash: string | null | undefined, version: number, now: string): Promise<void> {
    const before = await this.#db.selectFrom('users').select('data').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    await this.#db.updateTable('users').set({
      ...userColumns(body), ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
      version: version + 1, updated_at: now, data: JSON.stringify(body),
    }).where('org_id', '=', orgId).where('id', '=', id).execute()
    // Rewrite the email index only when the emails changed.
    const oldEmails = before ? JSON.stringify(emailRows(typeof before.data === 'string' ? JSON.parse(before.data) : before.data as Record<string, unknown>)) : ''
    if (oldEmails !== JSON.stringify(emailRows(body))) {
      await this.#db.deleteFrom('user_emails').where('org_id', '=', orgId).where('user_id', '=', id).execute()
      await this.#insertEmails(orgId, id, body)
    }
  }

  async deleteUser(orgId: OrgId, id: ResourceId): Promise<boolean> {
    const r = await this.#db.deleteFrom('users').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (Number(r.numDeletedRows) === 0) return false
    await this.#db.deleteFrom('user_emails').where('org_id', '=', orgId).where('user_id', '=', id).execute()
    await this.#db.deleteFrom('group_members').where('org_id', '=', orgId).where('member_id', '=', id).execute()
    return true
  }

  async insertGroup(orgId: OrgId, g: NewGroup): Promise<void> {
    await this.#db.insertInto('groups').values({
      org_id: orgId, id: g.id, ...groupColumns(g.body), version: 1, created_at: g.now, updated_at: g.now, data: JSON.stringify(g.body),
    }).execute()
  }

  async getGroupForUpdate(orgId: OrgId, id: ResourceId): Promise<GroupRow | null> {
    let q = this.#db.selectFrom('groups').select(['id', 'version', 'created_at', 'updated_at', 'data'])
      .where('org_id', '=', orgId).where('id', '=', id)
    if (this.#d.lockRows) q = q.forUpdate()
    const row = await q.executeTakeFirst()
    return row ? toGroupRow(row) : null
  }

  async updateGroup(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, version: number, now: string): Promise<void> {
    await this.#db.updateTable('groups').set({ ...groupColumns(body), version: version + 1, updated_at: now, data: JSON.stringify(body) })
      .where('org_id', '=', orgId).where('id', '=', id).execute()
  }

  async touchGroup(orgId: OrgId, id: ResourceId, version: number, now: string): Promise<void> {
    await this.#db.updateTable('groups').set({ version: version + 1, updated_at: now }).where('org_id', '=', orgId).where('id', '=', id).execute()
  }

  async deleteGroup(orgId: OrgId, id: ResourceId): Promise<boolean> {
    const r = await this.#db.deleteFrom('groups').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst()
    if (Number(r.numDeletedRows) === 0) return false
    await this.#db.deleteFrom('group_members').where('org_id', '=', orgId).where('group_id', '=', id).execute()
    await this.#db.deleteFrom('group_members').where('org_id', '=', orgId).where('member_id', '=', id).execute()
    return true
  }

  async resolveMembers(orgId: OrgId, ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>> {
    const out = new Map<string, 'User' | 'Group'>()
    for (const part of chunks([...new Set(ids)])) {
      const users = await this.#db.selectFrom('users').select('id').where('org_id', '=', orgId).where('id', 'in', part).execute()
      for (const u of users) out.set(u.id, 'User')
      if (users.length === part.length) continue
      const groups = await this.#db.selectFrom('groups').select('id').where('org_id', '=', orgId).where('id', 'in', part).execute()
      for (const g of groups) out.set(g.id, 'Group')
    }
    return out
  }

  async applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<{ added: number; removed: number }> {
    let added = 0
    let removed = 0
    const del = this.#db.deleteFrom('group_members').where('org_id', '=', orgId).where('group_id', '=', groupId)
    if (delta.removeAll || delta.replaceAll) removed += Number((await del.executeTakeFirst()).numDeletedRows)
    for (const part of chunks(delta.remove)) {
      removed += Number((await del.where('member_id', 'in', part).executeTakeFirst()).numDeletedRows)
    }
    const toAdd = [...(delta.replaceAll ?? []), ...delta.add]
    const seen = new Set<string>()
    const rows = toAdd.filter((m) => !seen.has(m.value) && seen.add(m.value))
      .map((m) => ({ org_id: orgId, group_id: groupId, member_id: m.value, member_type: m.type ?? 'User' }))
    for (const part of chunks(rows, 200)) {
      const r = await this.#db.insertInto('group_members').values(part).onConflict((oc) => oc.doNothing()).executeTakeFirst()
      added += Number(r.numInsertedOrUpdatedRows ?? 0)
    }
    return { added, removed }
  }

  async createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void> {
    await this.#db.insertInto('orgs').values({ id: org.id, name: org.name, name_folded: fold(org.name), created_at: org.now }).execute()
    const domains = [...new Set(org.domains.map((d) => d.toLowerCase()))]
    if (domains.length) await this.#db.insertInto('org_domains').values(domains.map((domain) => ({ org_id: org.id, domain }))).execute()
  }

  async replaceToken(orgId: OrgId, t: { id: string; hash: string; prefix: string; now: string }): Promise<void> {
    await this.#db.updateTable('scim_tokens').set({ revoked_at: t.now }).where('org_id', '=', orgId).where('revoked_at', 'is', null).execute()
    await this.#db.insertInto('scim_tokens').values({ org_id: orgId, id: t.id, hash: t.hash, prefix: t.prefix, created_at: t.now, revoked_at: null }).execute()
  }
}
