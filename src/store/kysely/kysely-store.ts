// The Store over Kysely, shared by SQLite and PostgreSQL. Kysely compiles the SQL for the
// dialect; fixed statements are compiled once (statements.ts) and run through a Conn, which keeps
// the database's prepared statement. What differs between the databases (how a write
// transaction runs, SQL spellings, error codes) is handed in as a StoreDriver.
import { sql, type Kysely } from 'kysely'
import { parseAttrPath } from '../../scim/filter/parser.ts'
import { fold } from '../../scim/fold.ts'
import type { Filter } from '../../scim/filter/ast.ts'
import { groupResource, resolveAttr, userResource, type ResourceSchema } from '../../scim/schema/registry.ts'
import type { Expr, SqlDialect } from '../dialect/sql-dialect.ts'
import type {
  ApiKeyRow, GroupRef, GroupRow, ListQuery, ListResult, LogQuery, LogRow, MemberDelta, MemberRow, NewGroup, NewUser, OrgId, OrgRow,
  ReadOptions, ResourceId, Store, StoreTx, UserRow,
} from '../store.ts'
import { filterToSql, sortExpr, type CompileContext } from './filter-to-sql.ts'
import { Coalescer } from './coalesce.ts'
import { ShapeCache, shapeOf } from './shape-cache.ts'
import type { Conn, Prepared } from './prepared.ts'
import { emailRows, groupColumns, toGroupRow, toUserRow, userColumns, type ResourceRecord } from './rows.ts'
import { logArgs, logPageQuery, toLogRow } from './log-sql.ts'
import type { ApiKeysTable, Database, ProvisioningLogTable } from './schema.ts'
import { LOG_CHUNK, statements, type Statements } from './statements.ts'

export interface StoreDriver {
  readonly kind: 'sqlite' | 'postgres'
  readonly sql: SqlDialect
  /** Compiles statements for the dialect; never executes them. */
  readonly builder: Kysely<Database>
  /** Reads outside a transaction (never see another request's uncommitted writes). */
  readonly reader: Conn
  /** Reads that may scan many rows (list pages and counts, a group's members); may be `reader`. */
  readonly scanner: Conn
  /**
   * Runs fn in one durable transaction; maps driver errors to UniqueViolation / StoreUnavailable.
   * `logOnly`: it writes provisioning-log rows and nothing else (see dataVersion).
   */
  transaction<T>(fn: (conn: Conn) => Promise<T>, opts?: { readonly logOnly?: boolean }): Promise<T>
  /** Wraps a read so that driver failures become StoreUnavailable. */
  read<T>(fn: () => Promise<T>): Promise<T>
  /** Row lock for read-modify-write (PostgreSQL `FOR UPDATE`; SQLite's writer is already exclusive). */
  readonly lockRows: boolean
  /** The dialect's own forms of some fixed statements (same arguments, same results). */
  readonly statements?: Partial<Statements>
  /**
   * A number that changes whenever a commit may have changed users, groups or memberships (on
   * SQLite from `PRAGMA data_version` and the writer's own commits), or undefined where the
   * database has none: list results read under one value are still exact under it.
   */
  dataVersion?(): number
  /**
   * Where the appender's log rows go instead of the main provisioning_log (SQLite's log file,
   * dialect/sqlite-log-file.mjs); the log is then both tables.
   */
  readonly logFile?: LogFileDriver
  close(): Promise<void>
}

/** A second provisioning_log table, written off the event loop. */
export interface LogFileDriver {
  /** Reads the log file's table (the same columns; ids as `key` makes them). */
  readonly reader: Conn
  /** Commits the rows (logArgs form) in one transaction. */
  append(rows: readonly (readonly unknown[])[]): Promise<void>
  /** Deletes up to `limit` of the organization's rows older than `beforeId`, oldest first. */
  prune(orgId: string, beforeId: string, limit: number): Promise<number>
  /** An id as the table keeps it, for a query's argument. */
  key(id: string): unknown
  /** A kept id read back as text. */
  text(v: unknown): unknown
}

/** How far before a page a known page end may be for the page to continue from it (nearestEnd). */
const NEAR_ROWS = 5_000

/** A first-page query slower than this moves to the scanner from then on. */
const SLOW_PAGE_MS = 2

/** Most ids bound in one list parameter. */
const CHUNK = 1_000

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

function all<R>(conn: Conn, p: Prepared, args: readonly unknown[]): Promise<R[]> {
  return conn.all<R>(p.sql, p.bind(args))
}

function run(conn: Conn, p: Prepared, args: readonly unknown[]): Promise<number> {
  return conn.run(p.sql, p.bind(args))
}

/**
 * Where served pages of one list ended, in the default order, ascending by position: at
 * `positions[i]` rows, the last row's folded name (unique) was `keys[i]`.
 */
interface PageEnds { readonly positions: number[]; readonly keys: string[] }

/** Most page ends remembered, over every list, until the next data version. */
const MAX_PAGE_ENDS = 10_000

interface OrgRecord { id: string; name: string; created_at: string }
/**
 * The folded value of a filter that is exactly `userName eq "…"` (Users) or `displayName eq "…"`
 * (Groups), however the attribute is spelled (RFC 7643 §2.1) or qualified; null for any other.
 * This is the lookup identity providers make before each create (Entra ID matches on userName,
 * Okta on userName, both on displayName for groups), and its attribute is unique per
 * organization, folded: the answer is at most one row, which a fixed statement on the unique
 * index finds, the row filterToSql's statement (`<folded column> = fold(value)`) would find,
 * without building, shaping and compiling that statement for each request.
 */
function uniqueNameEq(rs: ResourceSchema, f: Filter | null): string | null {
  if (f?.kind !== 'compare' || f.op !== 'eq' || typeof f.value !== 'string') return null
  const r = resolveAttr(rs, f.path)
  const unique = rs.kind === 'User' ? 'userName' : 'displayName'
  return r !== null && r.schema === rs.core.id && !r.sub && r.attr.name === unique ? fold(f.value) : null
}

interface GroupOfRecord { member_id: string; id: string; display_name: string }

/** The groups of a list page's users, by user id (ids in chunks of CHUNK). */
async function groupsOf(conn: Conn, st: Statements, d: SqlDialect, orgId: OrgId, userIds: readonly string[]): Promise<Map<string, GroupRef[]>> {
  const out = new Map<string, GroupRef[]>()
  for (const part of chunks(userIds)) {
    for (const r of await all<GroupOfRecord>(conn, st.groupsOf, [orgId, d.ids(part)])) {
      const list = out.get(r.member_id) ?? []
      list.push({ value: r.id, display: r.display_name })
      out.set(r.member_id, list)
    }
  }
  return out
}

const NO_MATCH = Symbol('no match')

/** How many of the ascending `sorted` are at most `n` (binary search). */
function countAtOrBelow(sorted: readonly number[], n: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) <= n) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** A list of at most one row (uniqueNameEq), paged as #list pages. */
function onePage<R>(rows: readonly R[], q: ListQuery): { total: number; rows: readonly R[] } {
  return { total: rows.length, rows: q.count > 0 && q.startIndex === 1 ? rows : [] }
}

const NO_GROUPS: readonly GroupRef[] = []

/** The `groups` column (statements.ts groupsColumn) as GroupRefs. */
function groupRefs(json: string): readonly GroupRef[] {
  if (json === '[]') return NO_GROUPS
  return (JSON.parse(json) as [string, string][]).map(([value, display]) => ({ value, display }))
}

export class KyselyStore implements Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly #d: StoreDriver
  readonly #st: Statements
  readonly #shapes = new ShapeCache()
  readonly #counts: Coalescer
  // What was learned since the commit that set #seenVersion (see #version): list totals, and
  // where served pages ended. Exactly what reading again would give, until the next commit.
  readonly #totals = new Map<string, number>()
  readonly #pageEnds = new Map<string, PageEnds>()
  #pageEndCount = 0
  #seenVersion: number | undefined
  /** Page queries seen to take longer than SLOW_PAGE_MS on the event loop. */
  readonly #slowPages = new Set<string>()

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.kind = driver.kind
    this.#st = { ...statements(driver.builder, driver.sql, driver.lockRows), ...driver.statements }
    this.#counts = new Coalescer(driver.scanner)
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#d.transaction((conn) => fn(new KyselyTx(conn, this.#st, this.#d.sql)))
  }

  appendLog(rows: readonly { readonly orgId: OrgId; readonly row: LogRow }[]): Promise<void> {
    const file = this.#d.logFile
    if (file) return file.append(rows.map((r) => logArgs(r.orgId, r.row)))
    return this.#d.transaction((conn) => new KyselyTx(conn, this.#st, this.#d.sql).appendLog(rows), { logOnly: true })
  }

  async pruneLog(orgId: OrgId, beforeId: string, limit: number): Promise<number> {
    // The log file first; the main table once the file has fewer than `limit` left to delete.
    const inFile = this.#d.logFile ? await this.#d.logFile.prune(orgId, beforeId, limit) : 0
    if (inFile >= limit) return inFile
    return inFile + await this.#d.transaction((conn) => run(conn, this.#st.pruneLog, [orgId, beforeId, limit - inFile]), { logOnly: true })
  }

  orgByTokenHash(hash: string): Promise<OrgId | null> {
    return this.#d.read(async () => {
      const [row] = await all<{ org_id: string }>(this.#d.reader, this.#st.tokenOrg, [hash])
      return row ? (row.org_id as OrgId) : null
    })
  }

  getOrg(idOrName: string): Promise<OrgRow | null> {
    return this.#d.read(async () => {
      const [row] = (await all<OrgRecord>(this.#d.reader, this.#st.orgById, [idOrName]))
      const found = row ?? (await all<OrgRecord>(this.#d.reader, this.#st.orgByName, [fold(idOrName)]))[0]
      return found ? this.#orgRow(found) : null
    })
  }

  listOrgs(): Promise<readonly OrgRow[]> {
    return this.#d.read(async () => {
      const rows = await all<OrgRecord>(this.#d.reader, this.#st.orgs, [])
      return Promise.all(rows.map((r) => this.#orgRow(r)))
    })
  }

  orgIds(): Promise<readonly OrgId[]> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.orgIds, [])).map((r) => r.id as OrgId))
  }

  orgOfRevokedToken(hash: string): Promise<OrgId | null> {
    return this.#d.read(async () => ((await all<{ org_id: string }>(this.#d.reader, this.#st.revokedTokenOrg, [hash]))[0]?.org_id ?? null) as OrgId | null)
  }

  listLog(orgId: OrgId, query: LogQuery): Promise<readonly LogRow[]> {
    return this.#d.read(async () => {
      const c = logPageQuery(this.#d.builder, orgId, query).compile()
      const rows = (await this.#d.reader.all<ProvisioningLogTable>(c.sql, c.parameters)).map(toLogRow)
      const file = this.#d.logFile
      if (!file) return rows
      // Both tables' newest `limit` rows, merged: the page is the newest `limit` of those.
      const f = logPageQuery(this.#d.builder, orgId, query, (id) => file.key(id)).compile()
      const more = (await file.reader.all<ProvisioningLogTable>(f.sql, f.parameters))
        .map((r) => toLogRow({ ...r, org_id: orgId, id: file.text(r.id) as string, resource_id: file.text(r.resource_id) as string | null }))
      return rows.concat(more).sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, query.limit)
    })
  }

  apiKeyByHash(hash: string): Promise<{ id: string } | null> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.apiKeyByHash, [hash]))[0] ?? null)
  }

  listApiKeys(): Promise<readonly ApiKeyRow[]> {
    return this.#d.read(async () => (await all<Omit<ApiKeysTable, 'hash'>>(this.#d.reader, this.#st.apiKeys, []))
      .map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, createdAt: k.created_at, revokedAt: k.revoked_at })))
  }

  async #orgRow(r: OrgRecord): Promise<OrgRow> {
    const domains = await all<{ domain: string }>(this.#d.reader, this.#st.orgDomains, [r.id])
    return { id: r.id as OrgId, name: r.name, createdAt: r.created_at, domains: domains.map((d) => d.domain) }
  }

  getUser(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<UserRow | null> {
    return this.#d.read(async () => {
      if (!opts.withMembership) {
        const [row] = await all<ResourceRecord>(this.#d.reader, this.#st.user, [orgId, id])
        return row ? toUserRow(row) : null
      }
      const [row] = await all<ResourceRecord & { groups: string }>(this.#d.reader, this.#st.userWithGroups, [orgId, id])
      return row ? toUserRow(row, groupRefs(row.groups)) : null
    })
  }

  listUsers(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<UserRow>> {
    return this.#d.read(async () => {
      const name = this.#uniqueNameEq(userResource, query.filter)
      if (name === NO_MATCH) return { total: 0, rows: [] }
      if (name !== null) {
        if (!opts.withMembership) {
          const { total, rows } = onePage(await all<ResourceRecord>(this.#d.reader, this.#st.userByName, [orgId, name]), query)
          return { total, rows: rows.map((r) => toUserRow(r)) }
        }
        const { total, rows } = onePage(await all<ResourceRecord & { groups: string }>(this.#d.reader, this.#st.userByNameWithGroups, [orgId, name]), query)
        return { total, rows: rows.map((r) => toUserRow(r, groupRefs(r.groups))) }
      }
      const { total, rows } = await this.#list(orgId, userResource, 'users', query, this.#d.sql.codePoint(sql.ref('t.user_name_folded')))
      if (!opts.withMembership || rows.length === 0) return { total, rows: rows.map((r) => toUserRow(r)) }
      const groups = await groupsOf(this.#d.reader, this.#st, this.#d.sql, orgId, rows.map((u) => u.id))
      return { total, rows: rows.map((r) => toUserRow(r, groups.get(r.id) ?? NO_GROUPS)) }
    })
  }

  listGroups(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<GroupRow>> {
    return this.#d.read(async () => {
      const name = this.#uniqueNameEq(groupResource, query.filter)
      if (name === NO_MATCH) return { total: 0, rows: [] }
      const { total, rows } = name !== null
        ? onePage(await all<ResourceRecord>(this.#d.reader, this.#st.groupByName, [orgId, name]), query)
        : await this.#list(orgId, groupResource, 'groups', query, this.#d.sql.codePoint(sql.ref('t.display_name_folded')))
      if (!opts.withMembership) return { total, rows: rows.map((r) => toGroupRow(r)) }
      const out: GroupRow[] = []
      for (const r of rows) out.push(toGroupRow(r, await this.#members(orgId, r.id)))
      return { total, rows: out }
    })
  }

  /** uniqueNameEq, or NO_MATCH where the value cannot be stored (filter-to-sql.ts positive()). */
  #uniqueNameEq(rs: ResourceSchema, f: Filter | null): string | typeof NO_MATCH | null {
    const name = uniqueNameEq(rs, f)
    // PostgreSQL text cannot hold U+0000, so no stored name has one.
    return name !== null && this.#d.kind === 'postgres' && name.includes('\0') ? NO_MATCH : name
  }

  /** Count and page under one WHERE; ordered by the sort key, then id, so pages are stable. */
  async #list(orgId: OrgId, rs: ResourceSchema, table: 'users' | 'groups', q: ListQuery, defaultOrder: Expr) {
    const ctx: CompileContext = { rs, dialect: this.#d.sql, orgId, alias: 't' }
    const where = q.filter ? filterToSql(ctx, q.filter) : null
    const order = q.sortBy ? sortExpr(ctx, parseAttrPath(q.sortBy)) : defaultOrder
    const desc = q.sortOrder === 'descending'
    const base = () => {
      let b = this.#d.builder.selectFrom(`${table} as t` as 'users as t').where('t.org_id', '=', orgId)
      if (where) b = b.where(where as never)
      return b
    }
    const whereShape = shapeOf([where])
    const orderShape = shapeOf([order])
    const shape = { key: whereShape.key + orderShape.key, values: [...whereShape.values, ...orderShape.values] }
    const count = async () => {
      const c = this.#shapes.sql(`count ${table}${whereShape.key}`, [orgId, ...whereShape.values], () => base().select((eb) => eb.fn.countAll<number | string>().as('n')).compile())
      return this.#countOf(c.sql, c.parameters)
    }
    if (q.count === 0) return { total: await count(), rows: [] }
    // In the default order (the folded name: never null, unique in the organization; then id) a
    // page that starts where a page served since the last commit ended continues from that row's
    // key instead of skipping startIndex - 1 rows: an identity provider paging through a large
    // directory reads each page in about the same time (where the database reports commits).
    // Unfiltered lists only: that is how directories are paged (Okta's import), and a filtered
    // lookup then costs no data-version reads.
    const keyed = !q.sortBy && !q.filter && this.#d.dataVersion !== undefined
    const version = keyed ? this.#version() : undefined
    const dir = desc ? 'desc' : 'asc'
    const endsOf = `${table}\u0000${dir}\u0000${orgId}`
    const near = keyed && q.startIndex > 1 ? this.#nearestEnd(endsOf, q.startIndex - 1) : undefined
    const columns = ['t.id', 't.version', 't.created_at', 't.updated_at', 't.data'] as const
    const select = () => keyed ? base().select([...columns, sql`${order}`.as('sort_key')]) : base().select(columns)
    type Select = ReturnType<typeof select>
    const sorted = (b: Select) => b.orderBy(sql`${order} ${sql.raw(dir)}`).orderBy('t.id', dir)
    // LIMIT is written into the SQL (an integer no larger than maxResults, so few shapes):
    // SQLite runs a statement with a bound LIMIT markedly slower than one with a literal.
    const limited = (b: Select) => sorted(b).limit(sql.lit(q.count))
    const skipping = () => this.#d.kind === 'postgres' && q.startIndex > 1
      // PostgreSQL reads the whole row of every skipped one (its JSON body included) unless the
      // skipping runs on an index alone: the page's ids are found in an index-only scan of
      // (org_id, sort key, id) (migration 0006), then only those rows are read. (In the
      // subquery `t` is the inner table; outside it, the outer one.)
      ? this.#shapes.sql(`ids page ${table} ${dir} ${q.count}${shape.key}`, [orgId, orgId, ...shape.values, q.startIndex - 1, ...orderShape.values], () =>
        sorted(this.#d.builder.selectFrom(`${table} as t` as 'users as t').select(columns).where('t.org_id', '=', orgId)
          .where('t.id', 'in', limited(base().select('t.id') as never as Select).offset(q.startIndex - 1) as never) as never as Select)
          .compile())
      : this.#shapes.sql(`page ${table} ${dir} ${q.count} ${keyed}${shape.key}`, [orgId, ...shape.values, q.startIndex - 1], () =>
        limited(select()).offset(q.startIndex - 1).compile())
    let rows: ResourceRecord[]
    let current: number | undefined
    if (near) {
      const { key: afterKey, skip } = near
      // The default order's key is unique in the organization (users_user_name and
      // groups_display_name are unique indexes), so `key > k` is `(key, id) > (k, i)`, and it is
      // decided on the index alone: a skipped row is never read from the table.
      const range = () => limited(select().where(sql`${order} ${sql.raw(desc ? '<' : '>')} ${afterKey}` as never))
      // Without OFFSET where nothing is skipped (the common case: pages read in order).
      const page = skip === 0
        ? this.#shapes.sql(`after ${table} ${dir} ${q.count}${shape.key}`, [orgId, ...shape.values, afterKey], () => range().compile())
        : this.#shapes.sql(`near ${table} ${dir} ${q.count}${shape.key}`, [orgId, ...shape.values, afterKey, skip], () => range().offset(skip).compile())
      // A continued page is an index range (past `skip` rows): it runs where a first page does.
      rows = await this.#page(page.sql, page.parameters, 1 + skip)
      // Valid only if nothing committed before it ran (it may have waited for a worker).
      current = this.#d.dataVersion?.()
      if (current !== version) {
        const again = skipping()
        rows = await this.#page(again.sql, again.parameters, q.startIndex)
        current = this.#d.dataVersion?.()
      }
    } else {
      const page = skipping()
      rows = await this.#page(page.sql, page.parameters, q.startIndex)
      if (keyed) current = this.#d.dataVersion?.()
    }
    const last = rows[rows.length - 1] as (ResourceRecord & { sort_key?: string }) | undefined
    if (keyed && last && typeof last.sort_key === 'string' && current === version) {
      if (this.#pageEndCount >= MAX_PAGE_ENDS) this.#forgetPageEnds()
      this.#rememberEnd(endsOf, q.startIndex - 1 + rows.length, last.sort_key)
    }
    // A short, non-empty page ends the result, so it tells the total without counting
    // (an identity provider's `userName eq` lookup is one query).
    const total = rows.length > 0 && rows.length < q.count ? q.startIndex - 1 + rows.length
      : rows.length === 0 && q.startIndex === 1 ? 0
      : await count()
    return { total, rows }
  }

  /**
   * The end of a served page at `position`, or else the nearest one before it within
   * NEAR_ROWS (`skip` rows short of it). An identity provider reading pages concurrently asks
   * for page k before page k - 1 has ended: the page then continues from the last end known and
   * skips the rest, a few pages' worth instead of every row before it.
   */
  #nearestEnd(endsOf: string, position: number): { key: string; skip: number } | undefined {
    const ends = this.#pageEnds.get(endsOf)
    if (!ends) return undefined
    // The last known position at or below `position`.
    const i = countAtOrBelow(ends.positions, position) - 1
    const below = ends.positions[i]
    if (below === undefined || position - below > NEAR_ROWS) return undefined
    return { key: ends.keys[i] as string, skip: position - below }
  }

  #rememberEnd(endsOf: string, position: number, key: string): void {
    let ends = this.#pageEnds.get(endsOf)
    if (!ends) {
      ends = { positions: [], keys: [] }
      this.#pageEnds.set(endsOf, ends)
    }
    const i = countAtOrBelow(ends.positions, position)
    if (ends.positions[i - 1] === position) {
      ends.keys[i - 1] = key
      return
    }
    ends.positions.splice(i, 0, position)
    ends.keys.splice(i, 0, key)
    this.#pageEndCount++
  }

  #forgetPageEnds(): void {
    this.#pageEnds.clear()
    this.#pageEndCount = 0
  }

  /** The database's data version; what was learned under another version is forgotten. */
  #version(): number | undefined {
    const version = this.#d.dataVersion?.()
    if (version !== this.#seenVersion) {
      this.#totals.clear()
      this.#forgetPageEnds()
      this.#seenVersion = version
    }
    return version
  }

  /**
   * A list's total. Where the database says when anything was committed, a total counted since
   * the last commit is reused: it is exactly what counting again would give. An identity
   * provider paging through a directory asks for the same total once per page.
   */
  async #countOf(text: string, params: readonly unknown[]): Promise<number> {
    const version = this.#version()
    const key = version === undefined ? null : `${text}\u0000${JSON.stringify(params)}`
    const known = key === null ? undefined : this.#totals.get(key)
    if (known !== undefined) return known
    const n = Number((await this.#counts.all<{ n: number | string }>(text, params))[0]?.n ?? 0)
    // Kept only if nothing was committed while it was counted.
    if (key !== null && this.#d.dataVersion?.() === version && this.#totals.size < 1_000) this.#totals.set(key, n)
    return n
  }

  /**
   * Runs a page query. A first page stops at its LIMIT, so it runs on the event loop, unless
   * its shape was once slow (an unindexed filter scanning for matches); a later page first
   * skips startIndex - 1 rows: it goes to the scanner, as counts do.
   */
  #page(text: string, params: readonly unknown[], startIndex: number): Promise<ResourceRecord[]> {
    const { reader, scanner } = this.#d
    if (startIndex > 1 || scanner === reader || this.#slowPages.has(text)) return scanner.all<ResourceRecord>(text, params)
    // SQLite's reader runs the statement before returning its promise: time that call.
    const t0 = performance.now()
    const rows = reader.all<ResourceRecord>(text, params)
    if (performance.now() - t0 > SLOW_PAGE_MS) {
      if (this.#slowPages.size >= 1_000) this.#slowPages.clear()
      this.#slowPages.add(text)
    }
    return rows
  }

  getGroup(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<GroupRow | null> {
    return this.#d.read(async () => {
      const [row] = await all<ResourceRecord>(this.#d.reader, this.#st.group, [orgId, id])
      if (!row) return null
      return opts.withMembership ? toGroupRow(row, await this.#members(orgId, id)) : toGroupRow(row)
    })
  }

  #members(orgId: OrgId, groupId: string): Promise<MemberRow[]> {
    return all<MemberRow>(this.#d.scanner, this.#st.members, [orgId, groupId])
  }


  findUserIdByUserName(orgId: OrgId, userName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.userIdByName, [orgId, fold(userName)]))[0]?.id ?? null)
  }

  findGroupIdByDisplayName(orgId: OrgId, displayName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.groupIdByName, [orgId, fold(displayName)]))[0]?.id ?? null)
  }

  ping(): Promise<void> {
    return this.#d.read(async () => {
      await all(this.#d.reader, this.#st.ping, [])
    })
  }

  close(): Promise<void> {
    return this.#d.close()
  }
}

function userArgs(body: Record<string, unknown>): unknown[] {
  const c = userColumns(body)
  return [c.user_name, c.user_name_folded, c.external_id, c.active, c.display_name]
}

function groupArgs(body: Record<string, unknown>): unknown[] {
  const c = groupColumns(body)
  return [c.display_name, c.display_name_folded, c.external_id]
}

class KyselyTx implements StoreTx {
  readonly #c: Conn
  readonly #st: Statements
  readonly #d: SqlDialect

  constructor(conn: Conn, st: Statements, d: SqlDialect) {
    this.#c = conn
    this.#st = st
    this.#d = d
  }

  async insertUser(orgId: OrgId, u: NewUser): Promise<void> {
    await run(this.#c, this.#st.insertUser, [orgId, u.id, ...userArgs(u.body), u.passwordHash, u.now, JSON.stringify(u.body)])
    await this.#insertEmails(orgId, u.id, u.body)
  }

  async #insertEmails(orgId: OrgId, userId: string, body: Record<string, unknown>): Promise<void> {
    const rows = emailRows(body)
    if (rows.length === 0) return
    await run(this.#c, this.#st.insertEmails, [orgId, userId, this.#d.records(rows.map((r) => ({ v: r.value_folded, t: r.type, p: r.is_primary })))])
  }

  async getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null> {
    const [row] = await all<ResourceRecord>(this.#c, this.#st.userForUpdate, [orgId, id])
    return row ? toUserRow(row) : null
  }

  async updateUser(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, previous: Record<string, unknown>, passwordHash: string | null | undefined, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.updateUser, [orgId, id, ...userArgs(body), version + 1, now, JSON.stringify(body)])
    if (passwordHash !== undefined) await run(this.#c, this.#st.updateUserPassword, [orgId, id, passwordHash])
    // Rewrite the email index only when the emails changed.
    if (JSON.stringify(emailRows(previous)) !== JSON.stringify(emailRows(body))) {
      await run(this.#c, this.#st.deleteEmails, [orgId, id])
      await this.#insertEmails(orgId, id, body)
    }
  }

  async deleteUser(orgId: OrgId, id: ResourceId): Promise<boolean> {
    if ((await run(this.#c, this.#st.deleteUser, [orgId, id])) === 0) return false
    await run(this.#c, this.#st.deleteEmails, [orgId, id])
    await run(this.#c, this.#st.deleteMemberships, [orgId, id])
    return true
  }

  async insertGroup(orgId: OrgId, g: NewGroup): Promise<void> {
    await run(this.#c, this.#st.insertGroup, [orgId, g.id, ...groupArgs(g.body), g.now, JSON.stringify(g.body)])
  }

  async getGroupForUpdate(orgId: OrgId, id: ResourceId): Promise<GroupRow | null> {
    const [row] = await all<ResourceRecord>(this.#c, this.#st.groupForUpdate, [orgId, id])
    return row ? toGroupRow(row) : null
  }

  async updateGroup(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.updateGroup, [orgId, id, ...groupArgs(body), version + 1, now, JSON.stringify(body)])
  }

  async touchGroup(orgId: OrgId, id: ResourceId, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.touchGroup, [orgId, id, version + 1, now])
  }

  async deleteGroup(orgId: OrgId, id: ResourceId): Promise<boolean> {
    if ((await run(this.#c, this.#st.deleteGroup, [orgId, id])) === 0) return false
    await run(this.#c, this.#st.deleteAllMembers, [orgId, id])
    await run(this.#c, this.#st.deleteMemberships, [orgId, id])
    return true
  }

  async resolveMembers(orgId: OrgId, ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>> {
    const out = new Map<string, 'User' | 'Group'>()
    for (const part of chunks([...new Set(ids)])) {
      const users = await all<{ id: string }>(this.#c, this.#st.existingUsers, [orgId, this.#d.ids(part)])
      for (const u of users) out.set(u.id, 'User')
      if (users.length === part.length) continue
      for (const g of await all<{ id: string }>(this.#c, this.#st.existingGroups, [orgId, this.#d.ids(part)])) out.set(g.id, 'Group')
    }
    return out
  }

  async applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<{ added: number; removed: number }> {
    let removed = 0
    if (delta.removeAll || delta.replaceAll) removed += await run(this.#c, this.#st.deleteAllMembers, [orgId, groupId])
    for (const part of chunks(delta.remove)) removed += await run(this.#c, this.#st.deleteSomeMembers, [orgId, groupId, this.#d.ids(part)])
    let added = 0
    const seen = new Set<string>()
    const rows = [...(delta.replaceAll ?? []), ...delta.add]
      .filter((m) => !seen.has(m.value) && seen.add(m.value))
      .map((m) => ({ v: m.value, t: m.type ?? 'User' }))
    for (const part of chunks(rows)) added += await run(this.#c, this.#st.insertMembers, [orgId, groupId, this.#d.records(part)])
    return { added, removed }
  }

  async createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void> {
    await run(this.#c, this.#st.insertOrg, [org.id, org.name, fold(org.name), org.now])
    for (const domain of new Set(org.domains.map((d) => d.toLowerCase()))) await run(this.#c, this.#st.insertDomain, [org.id, domain])
  }

  async replaceToken(orgId: OrgId, t: { id: string; hash: string; prefix: string; now: string }): Promise<void> {
    await run(this.#c, this.#st.revokeTokens, [orgId, t.now])
    await run(this.#c, this.#st.insertToken, [orgId, t.id, t.hash, t.prefix, t.now])
  }

  async insertLog(orgId: OrgId, row: LogRow): Promise<void> {
    await run(this.#c, this.#st.insertLog, logArgs(orgId, row))
  }

  async appendLog(rows: readonly { readonly orgId: OrgId; readonly row: LogRow }[]): Promise<void> {
    // PostgreSQL: LOG_CHUNK rows per round trip. SQLite has no round trip, and there one
    // prepared single-row insert after another measured faster than a wide statement, and than
    // one statement unpacking a JSON list of rows (15 vs 23 µs a row, json_each re-reading
    // each row's JSON for every column).
    const chunk = this.#d.kind === 'postgres' ? LOG_CHUNK : Number.POSITIVE_INFINITY
    let i = 0
    for (; i + chunk <= rows.length; i += chunk) {
      await run(this.#c, this.#st.insertLogChunk, rows.slice(i, i + LOG_CHUNK).flatMap((r) => logArgs(r.orgId, r.row)))
    }
    for (; i < rows.length; i++) {
      const r = rows[i] as { orgId: OrgId; row: LogRow }
      await run(this.#c, this.#st.insertLog, logArgs(r.orgId, r.row))
    }
  }





  async insertApiKey(k: { id: string; name: string; hash: string; prefix: string; now: string }): Promise<void> {
    await run(this.#c, this.#st.insertApiKey, [k.id, k.name, k.hash, k.prefix, k.now])
  }

  revokeApiKey(idOrName: string, now: string): Promise<number> {
    return run(this.#c, this.#st.revokeApiKey, [idOrName, now])
  }
}
