// List pages and totals, shared by SQLite and PostgreSQL: a list's count and page run under one
// WHERE, compiled once per shape (shape-cache.ts), counts shared (coalesce.ts). Where the
// database reports commits (StoreDriver.dataVersion), what was learned since the last one (list
// totals, where served pages ended) is reused, and an identity provider's exact-name lookup is
// answered by a fixed statement (uniqueNameEq).
import type { Deadline } from '../deadline.ts'
import { ScanSlots } from './scan-slots.ts'
import { sql } from 'kysely'
import { parseAttrPath } from '../../scim/filter/parser.ts'
import { fold } from '../../scim/fold.ts'
import type { Filter } from '../../scim/filter/ast.ts'
import { resolveAttr, type ResourceSchema } from '../../scim/schema/registry.ts'
import type { Expr } from '../dialect/sql-dialect.ts'
import type { ListQuery, OrgId } from '../store.ts'
import type { CompileContext } from './filter-targets.ts'
import { filterToSql } from './filter-to-sql.ts'
import { sortExpr } from './sort-to-sql.ts'
import { Coalescer } from './coalesce.ts'
import { ShapeCache, shapeOf } from './shape-cache.ts'
import type { ResourceRecord } from './rows.ts'
import type { StoreDriver } from './store-driver.ts'

/** How far before a page a known page end may be for the page to continue from it (nearestEnd). */
const NEAR_ROWS = 5_000

/** A first-page query slower than this moves to the scanner from then on. */
const SLOW_PAGE_MS = 2

/**
 * Where served pages of one list ended, in the default order, ascending by position: at
 * `positions[i]` rows, the last row's folded name (unique) was `keys[i]`.
 */
interface PageEnds { readonly positions: number[]; readonly keys: string[] }

/** Most page ends remembered, over every list, until the next data version. */
const MAX_PAGE_ENDS = 10_000

const USER_COLUMNS = ['t.id', 't.version', 't.created_at', 't.updated_at', 't.data'] as const
// The directory columns, so that the row's DirectoryInfo carries memberCount (rows.ts).
const GROUP_COLUMNS = [...USER_COLUMNS, 't.managed_by', 't.identity_provider', 't.member_count'] as unknown as typeof USER_COLUMNS

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

export const NO_MATCH = Symbol('no match')

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

/** A list of at most one row (uniqueNameEq), paged as ListPager.list pages. */
export function onePage<R>(rows: readonly R[], q: ListQuery): { total: number; rows: readonly R[] } {
  return { total: rows.length, rows: q.count > 0 && q.startIndex === 1 ? rows : [] }
}

export class ListPager {
  readonly #d: StoreDriver
  readonly #shapes = new ShapeCache()
  readonly #counts: Coalescer
  readonly #slots: ScanSlots | null
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
    this.#counts = new Coalescer(driver.scanner)
    this.#slots = driver.scanSlotsPerOrg ? new ScanSlots(driver.scanSlotsPerOrg) : null
  }

  /** uniqueNameEq, or NO_MATCH where the value cannot be stored (filter-compare.ts positive()). */
  uniqueNameEq(rs: ResourceSchema, f: Filter | null): string | typeof NO_MATCH | null {
    const name = uniqueNameEq(rs, f)
    // PostgreSQL text cannot hold U+0000, so no stored name has one.
    return name !== null && this.#d.kind === 'postgres' && name.includes('\0') ? NO_MATCH : name
  }

  /** Count and page under one WHERE; ordered by the sort key, then id, so pages are stable. */
  async list(orgId: OrgId, rs: ResourceSchema, table: 'users' | 'groups', q: ListQuery, defaultOrder: Expr, deadline?: Deadline): Promise<{ total: number; rows: ResourceRecord[] }> {
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
      return this.#countOf(orgId, c.sql, c.parameters, deadline)
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
    // A group's member count comes with it: a page whose groups show their members decides from
    // it whether to stream them (http/scim/list-stream.ts), and a count of 0 needs no read.
    const columns = table === 'groups' ? GROUP_COLUMNS : USER_COLUMNS
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
      rows = await this.#page(orgId, page.sql, page.parameters, 1 + skip, deadline)
      // Valid only if nothing committed before it ran (it may have waited for a worker).
      current = this.#d.dataVersion?.()
      if (current !== version) {
        const again = skipping()
        rows = await this.#page(orgId, again.sql, again.parameters, q.startIndex, deadline)
        current = this.#d.dataVersion?.()
      }
    } else {
      const page = skipping()
      rows = await this.#page(orgId, page.sql, page.parameters, q.startIndex, deadline)
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
  async #countOf(orgId: OrgId, text: string, params: readonly unknown[], deadline?: Deadline): Promise<number> {
    const version = this.#version()
    const key = version === undefined ? null : `${text}\u0000${JSON.stringify(params)}`
    const known = key === null ? undefined : this.#totals.get(key)
    if (known !== undefined) return known
    const n = Number((await this.#scan(orgId, deadline, () => this.#counts.all<{ n: number | string }>(text, params, deadline)))[0]?.n ?? 0)
    // Kept only if nothing was committed while it was counted.
    if (key !== null && this.#d.dataVersion?.() === version && this.#totals.size < 1_000) this.#totals.set(key, n)
    return n
  }

  /** A read on the scanner, within the organization's share of it (scan-slots.ts). */
  #scan<T>(orgId: OrgId, deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
    return this.#slots === null ? fn() : this.#slots.run(orgId, deadline, fn)
  }

  /**
   * Runs a page query. A first page stops at its LIMIT, so it runs on the event loop, unless
   * its shape was once slow (an unindexed filter scanning for matches); a later page first
   * skips startIndex - 1 rows: it goes to the scanner, as counts do.
   */
  #page(orgId: OrgId, text: string, params: readonly unknown[], startIndex: number, deadline?: Deadline): Promise<ResourceRecord[]> {
    const { reader, scanner } = this.#d
    if (startIndex > 1 || scanner === reader || this.#slowPages.has(text)) return this.#scan(orgId, deadline, () => scanner.all<ResourceRecord>(text, params, deadline))
    // SQLite's reader runs the statement before returning its promise: time that call.
    const t0 = performance.now()
    const rows = reader.all<ResourceRecord>(text, params)
    if (performance.now() - t0 > SLOW_PAGE_MS) {
      if (this.#slowPages.size >= 1_000) this.#slowPages.clear()
      this.#slowPages.add(text)
    }
    return rows
  }
}
