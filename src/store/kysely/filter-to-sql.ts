// Compiles a filter AST (RFC 7644 §3.4.2.2) to one SQL boolean expression. Structure is
// compiled, values are always bound parameters, and `co`/`sw`/`ew` use substring functions, not
// LIKE, so `%`, `_` and `\` match literally (docs/architecture.md INP-3). Every leaf is two-valued
// (never NULL), so `not` and `ne` agree with the reference evaluator (scim/filter/evaluate.ts).
//
// Where an attribute lives decides its SQL: indexed columns (userName folded, externalId, id,
// meta.created/lastModified), side tables (user_emails, group_members) reached by an
// uncorrelated `id IN (SELECT ...)` that the planner turns into an index lookup, and JSON paths
// into the stored body for the rest. test/e2e/filter-differential.test.ts holds the two to
// agreement on random filters over adversarial data.
//
// Strings order by code point: SQLite's BINARY collation on UTF-8 does, and in PostgreSQL every
// ordering comparison is made `collate "C"`, whatever the database's collation. The evaluator
// orders by UTF-16 code unit; the two differ only where an astral character meets one in
// U+E000..U+FFFF, which is accepted.
import { sql } from 'kysely'
import type { AttrPath, CompValue, CompareOp, Filter } from '../../scim/filter/ast.ts'
import { ScimError, quote } from '../../scim/errors.ts'
import { fold } from '../../scim/fold.ts'
import { findSub, resolveFilterAttr, type ResolvedAttr, type ResourceSchema } from '../../scim/schema/registry.ts'
import type { AttributeDef } from '../../scim/schema/types.ts'
import type { Expr, JsonValueType, SqlDialect } from '../dialect/sql-dialect.ts'

export interface CompileContext {
  readonly rs: ResourceSchema
  readonly dialect: SqlDialect
  readonly orgId: string
  /** Alias of the resource table in the enclosing query. */
  readonly alias: string
}

type ValueKind = 'string' | 'boolean' | 'number' | 'dateTime'

/** A place a comparable value lives, and how to compare against it. */
interface Target {
  readonly expr: Expr
  readonly kind: ValueKind
  /** The expression already holds folded text (so the parameter is folded, the column is not). */
  readonly folded: boolean
  /** Compare case-insensitively (fold both sides) when not already folded. */
  readonly caseInsensitive: boolean
  readonly nullable: boolean
  /** JSON values in PostgreSQL are real booleans; integer columns hold 0/1. */
  readonly nativeBoolean: boolean
  /**
   * A membership key column whose text is `expr` (sql-dialect.ts idKey/idText): `eq` also
   * compares the key, so the lookup is an index search, not a conversion of every row.
   */
  readonly key?: Expr
}

function invalid(detail: string): never {
  throw new ScimError(400, 'invalidFilter', detail)
}

function pathName(p: AttrPath): string {
  return `${p.uri ? `${p.uri}:` : ''}${p.name}${p.sub ? `.${p.sub}` : ''}`
}

function valueKind(a: AttributeDef): ValueKind | null {
  switch (a.type) {
    case 'string':
    case 'reference':
    case 'binary':
      return 'string'
    case 'boolean':
      return 'boolean'
    case 'integer':
    case 'decimal':
      return 'number'
    case 'dateTime':
      return 'dateTime'
    case 'complex':
      return null
  }
}

function jsonType(k: ValueKind): JsonValueType {
  return k === 'boolean' ? 'boolean' : k === 'number' ? 'number' : 'string'
}

/** Compiles `filter` for the resource table aliased `ctx.alias`. */
export function filterToSql(ctx: CompileContext, filter: Filter): Expr {
  switch (filter.kind) {
    case 'and':
      return sql`(${sql.join(filter.filters.map((f) => filterToSql(ctx, f)), sql` and `)})`
    case 'or':
      return sql`(${sql.join(filter.filters.map((f) => filterToSql(ctx, f)), sql` or `)})`
    case 'not':
      return sql`(not ${filterToSql(ctx, filter.filter)})`
    case 'present':
    case 'compare':
      return leaf(ctx, filter)
    case 'valuePath':
      return valuePath(ctx, filter.path, filter.filter)
    default: {
      const never: never = filter
      return never
    }
  }
}

function resolve(ctx: CompileContext, path: AttrPath): ResolvedAttr {
  const r = resolveFilterAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathName(path))} in filter`)
  if (r.attr.returned === 'never' || r.sub?.returned === 'never') invalid(`Attribute ${quote(r.attr.name)} cannot be used in a filter`)
  return r
}

type Leaf = Extract<Filter, { kind: 'compare' } | { kind: 'present' }>

function leaf(ctx: CompileContext, f: Leaf): Expr {
  const r = resolve(ctx, f.path)
  // `x eq null` is exactly `not (x pr)` and `x ne null` exactly `x pr`, complex and multi-valued
  // `x` included (evaluate.ts): `emails.type eq null` is "no email has a type".
  if (f.kind === 'compare' && f.value === null && (f.op === 'eq' || f.op === 'ne')) {
    const p = leaf(ctx, { kind: 'present', path: f.path })
    return f.op === 'eq' ? sql`(not ${p})` : p
  }
  // `emails.value eq x` and `emails eq x` on a multi-valued attribute: any element matches
  // (RFC 7644 §3.4.2.2). `ne` is the negation of "some element equals".
  if (r.attr.multiValued) {
    if (f.kind === 'present' && !r.sub) return multiValuedPresent(ctx, r)
    if (!r.attr.subAttributes && f.kind === 'compare') {
      // A multi-valued simple attribute (an organization's declared `tags`): the elements are the values.
      const inner = { ...f, op: f.op === 'ne' ? 'eq' as const : f.op }
      const any = ctx.dialect.existsElement(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), (elem) => compare(ctx, jsonTarget(ctx, elem, [], r.attr), inner, r.attr))
      return f.op === 'ne' ? sql`(not ${any})` : any
    }
    const sub = r.sub ?? (r.attr.subAttributes ? findSub(r.attr, 'value') ?? null : null)
    const inner: Leaf = f.kind === 'present'
      ? { kind: 'present', path: { uri: null, name: sub ? sub.name : 'value', sub: null } }
      : { ...f, op: f.op === 'ne' ? 'eq' : f.op, path: { uri: null, name: sub ? sub.name : 'value', sub: null } }
    const any = valuePath(ctx, f.path.sub ? { ...f.path, sub: null } : f.path, inner)
    return f.kind === 'compare' && f.op === 'ne' ? sql`(not ${any})` : any
  }
  // `manager eq "id"` compares the complex attribute's `value` (evaluate.ts).
  if (r.sub === null && r.attr.type === 'complex' && f.kind === 'compare' && findSub(r.attr, 'value')) {
    return leaf(ctx, { ...f, path: { ...f.path, sub: 'value' } })
  }
  const leafAttr = r.sub ?? r.attr
  if (leafAttr.type === 'complex') {
    if (f.kind === 'present') return complexPresent(ctx, r)
    invalid(`Attribute ${quote(leafAttr.name)} is complex; compare one of its sub-attributes`)
  }
  const target = columnTarget(ctx, r) ?? jsonTarget(ctx, ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), leafAttr)
  return compare(ctx, target, f, leafAttr)
}

/** `pr` on a single-valued complex attribute: some sub-attribute is present (evaluate.ts isPresent). */
function complexPresent(ctx: CompileContext, r: ResolvedAttr): Expr {
  // meta is rendered from columns, never stored in the body, and always has its members.
  if (r.schema === null && r.attr.name === 'meta') return ctx.dialect.true
  return anyMemberPresent(ctx, ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), r.attr)
}

/** Some sub-attribute of the complex JSON value at `path` inside `doc` is present. */
function anyMemberPresent(ctx: CompileContext, doc: Expr, path: readonly string[], a: AttributeDef): Expr {
  const subs = (a.subAttributes ?? []).filter((s) => s.type !== 'complex')
  if (subs.length === 0) return ctx.dialect.false
  return sql`(${sql.join(subs.map((s) => present(ctx, jsonTarget(ctx, doc, [...path, s.name], s))), sql` or `)})`
}

/** The JSON key path of a resolved attribute inside the stored body. */
function jsonPathOf(ctx: CompileContext, r: ResolvedAttr): string[] {
  const base = r.schema !== null && r.schema !== ctx.rs.core.id ? [r.schema, r.attr.name] : [r.attr.name]
  return r.sub ? [...base, r.sub.name] : base
}

function jsonTarget(ctx: CompileContext, doc: Expr, path: readonly string[], a: AttributeDef): Target {
  const kind = valueKind(a)
  if (kind === null) invalid(`Attribute ${quote(a.name)} is complex; compare one of its sub-attributes`)
  const text = ctx.dialect.jsonValue(doc, path, jsonType(kind))
  return {
    // A dateTime in the body is kept as sent (offsets, precision): compared as its instant.
    expr: kind === 'dateTime' ? ctx.dialect.instant(text) : text,
    kind,
    folded: false,
    caseInsensitive: kind === 'string' && !a.caseExact,
    nullable: true,
    nativeBoolean: ctx.dialect.kind === 'postgres',
  }
}

function col(ctx: CompileContext, name: string, kind: ValueKind, opts: { folded?: boolean; ci?: boolean; nullable?: boolean } = {}): Target {
  return {
    expr: sql.ref(`${ctx.alias}.${name}`),
    kind,
    folded: opts.folded ?? false,
    caseInsensitive: opts.ci ?? false,
    nullable: opts.nullable ?? false,
    nativeBoolean: false,
  }
}

/** Attributes kept in their own indexed columns. */
function columnTarget(ctx: CompileContext, r: ResolvedAttr): Target | null {
  const name = r.attr.name
  if (r.schema === null) {
    if (name === 'id') return col(ctx, 'id', 'string')
    if (name === 'externalId') return col(ctx, 'external_id', 'string', { nullable: true })
    if (name === 'meta') {
      switch (r.sub?.name) {
        case 'created':
          return col(ctx, 'created_at', 'dateTime')
        case 'lastModified':
          return col(ctx, 'updated_at', 'dateTime')
        case 'resourceType':
          return { ...col(ctx, 'id', 'string'), expr: sql`cast(${ctx.rs.kind} as text)` }
        case 'version':
          // Rendered as etag.ts etagOf does.
          return { ...col(ctx, 'version', 'string'), expr: sql`('W/"' || ${sql.ref(`${ctx.alias}.version`)} || '"')` }
        case 'location':
          return invalid('meta.location cannot be used in a filter: it depends on the URL the server is reached at')
        default:
          invalid(`meta.${r.sub?.name ?? ''} cannot be used in a filter`)
      }
    }
    return null
  }
  if (r.schema !== ctx.rs.core.id || r.sub) return null
  if (ctx.rs.kind === 'User') {
    if (name === 'userName') return col(ctx, 'user_name_folded', 'string', { folded: true })
    // Not the `active` column: it holds 1 for an absent `active` (rows.ts), which a filter must
    // not see as true (evaluate.ts: an absent attribute never equals anything).
    if (name === 'displayName') return col(ctx, 'display_name', 'string', { ci: true, nullable: true })
  } else if (name === 'displayName') {
    return col(ctx, 'display_name_folded', 'string', { folded: true })
  }
  return null
}

function literal(target: Target, f: Extract<Filter, { kind: 'compare' }>, a: AttributeDef): Exclude<CompValue, null> {
  const v = f.value
  const where = `for ${quote(a.name)}`
  switch (target.kind) {
    case 'string':
      if (typeof v !== 'string') invalid(`Expected a string ${where}`)
      return target.folded || target.caseInsensitive ? fold(v) : v
    case 'boolean':
      if (typeof v !== 'boolean') invalid(`Expected true or false ${where}`)
      if (f.op !== 'eq' && f.op !== 'ne') invalid(`Operator ${f.op} is not defined on boolean ${quote(a.name)}`)
      return target.nativeBoolean ? v : v ? 1 : 0
    case 'number':
      if (typeof v !== 'number') invalid(`Expected a number ${where}`)
      if (f.op === 'co' || f.op === 'sw' || f.op === 'ew') invalid(`Operator ${f.op} is not defined on number ${quote(a.name)}`)
      return v
    case 'dateTime': {
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) invalid(`Expected a dateTime ${where}`)
      if (f.op === 'co' || f.op === 'sw' || f.op === 'ew') invalid(`Operator ${f.op} is not defined on dateTime ${quote(a.name)}`)
      return new Date(v).toISOString()
    }
  }
}

/** The least string greater than every string starting with `prefix`, in code-point order (null if none). */
export function prefixUpperBound(prefix: string): string | null {
  const cps = [...prefix].map((c) => c.codePointAt(0) ?? 0)
  while (cps.length > 0) {
    let last = (cps.pop() ?? 0) + 1
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000
    if (last <= 0x10ffff) return String.fromCodePoint(...cps, last)
  }
  return null
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }

function present(ctx: CompileContext, t: Target): Expr {
  if (!t.nullable) return ctx.dialect.true
  return t.kind === 'string' ? sql`(${t.expr} is not null and ${t.expr} <> '')` : sql`(${t.expr} is not null)`
}

function compare(ctx: CompileContext, t: Target, f: Leaf, a: AttributeDef): Expr {
  if (f.kind === 'present') return present(ctx, t)
  // RFC 7644 §3.4.2.2 gives no meaning to comparing with null; Roster reads `eq null` as
  // "not present" and `ne null` as "present", as the reference evaluator does.
  if (f.value === null) {
    if (f.op === 'eq') return sql`(not ${present(ctx, t)})`
    if (f.op === 'ne') return present(ctx, t)
    invalid(`Operator ${f.op} cannot compare with null`)
  }
  const value = literal(t, f, a)
  if ((f.op === 'co' || f.op === 'sw' || f.op === 'ew') && value === '') return present(ctx, t)
  const lhs = t.caseInsensitive && !t.folded ? ctx.dialect.fold(t.expr) : t.expr
  const guard = (e: Expr): Expr => (t.nullable ? sql`(${t.expr} is not null and ${e})` : e)
  const test = positive(ctx, t, lhs, f.op === 'ne' ? 'eq' : f.op, value)
  return f.op === 'ne' ? sql`(not ${guard(test)})` : guard(test)
}

type PositiveOp = Exclude<CompareOp, 'ne'>

/** `lhs <op> value` for a present `lhs`; `ne` is its negation, built by the caller. */
function positive(ctx: CompileContext, t: Target, lhs: Expr, op: PositiveOp, value: Exclude<CompValue, null>): Expr {
  if (typeof value === 'string') {
    // PostgreSQL text and jsonb cannot hold U+0000 (and refuse a parameter with one), so no
    // stored string contains it: equality and substrings are false, and an order against
    // `p\0…` is an order against `p` (s > p\0… exactly when s > p, s < p\0… when s <= p).
    const nul = ctx.dialect.kind === 'postgres' ? value.indexOf('\0') : -1
    if (nul >= 0) {
      if (op === 'gt' || op === 'ge') return positive(ctx, t, lhs, 'gt', value.slice(0, nul))
      if (op === 'lt' || op === 'le') return positive(ctx, t, lhs, 'le', value.slice(0, nul))
      return ctx.dialect.false
    }
    if (t.kind === 'dateTime' && (value.startsWith('+') || value.startsWith('-'))) {
      // An instant outside years 0000-9999 (ISO 8601 expanded years, "+010000-…"): stored
      // instants are written by toISOString within those years, so the order is known and
      // text comparison would get it wrong ('+' and '-' sort before digits).
      const after = value.startsWith('+')
      return op === 'eq' ? ctx.dialect.false : (op === 'gt' || op === 'ge') !== after ? ctx.dialect.true : ctx.dialect.false
    }
  }
  switch (op) {
    case 'co':
    case 'sw':
    case 'ew': {
      // In code-point order the strings starting with p are exactly those in [p, p'), p' being
      // p with its last code point incremented: the prefix test is an index range, with no
      // function to evaluate per row.
      // Only for a column holding the compared text, which has a code-point-ordered index.
      if (op === 'sw' && typeof value === 'string' && lhs === t.expr) {
        const cp = ctx.dialect.codePoint(lhs)
        const upper = prefixUpperBound(value)
        return upper === null ? sql`(${cp} >= ${value} and ${ctx.dialect.startsWith(lhs, sql`${value}`)})` : sql`(${cp} >= ${value} and ${cp} < ${upper})`
      }
      const fn = op === 'co' ? ctx.dialect.contains : op === 'sw' ? ctx.dialect.startsWith : ctx.dialect.endsWith
      return fn(lhs, sql`${value}`)
    }
    case 'eq':
      if (t.key && lhs === t.expr && typeof value === 'string') return sql`(${t.key} = ${ctx.dialect.idKey(sql`${value}`)} and ${lhs} = ${value})`
      return sql`${lhs} = ${value}`
    default: {
      // Code-point order in PostgreSQL whatever the database's collation (see the header).
      const ordered = t.kind !== 'number' ? ctx.dialect.codePoint(lhs) : lhs
      return sql`${ordered} ${sql.raw(SQL_OPS[op])} ${value}`
    }
  }
}

/** Side-table columns for multi-valued attributes that are filtered on often. */
interface SideTable {
  readonly select: (cond: Expr) => Expr
  readonly column: (sub: string) => Target | null
  /**
   * Every element is a row (membership, which lives only in its table). Otherwise (emails) the
   * rows index only the elements with a non-empty value, one row per folded value, and the
   * body's JSON stays the authority.
   */
  readonly complete: boolean
}

function sideTable(ctx: CompileContext, r: ResolvedAttr): SideTable | null {
  const id = sql.ref(`${ctx.alias}.id`)
  const c = (expr: string, kind: ValueKind, opts: Partial<Target> = {}): Target => ({
    expr: sql.ref(expr), kind, folded: false, caseInsensitive: false, nullable: false, nativeBoolean: false, ...opts,
  })
  if (ctx.rs.kind === 'User' && r.schema === ctx.rs.core.id && r.attr.name === 'emails') {
    return {
      select: (cond) => sql`${id} in (select e.user_id from user_emails as e where e.org_id = ${ctx.orgId} and ${cond})`,
      column: (sub) => (sub === 'value' ? c('e.value_folded', 'string', { folded: true }) : null),
      complete: false,
    }
  }
  // Membership rows hold ids as keys (sql-dialect.ts idKey/idText).
  const d = ctx.dialect
  const orgKey = d.idKey(sql`${ctx.orgId}`)
  const keyed = (col: string): Target => {
    const key = sql.ref(col)
    return d.compactIds ? { ...c(col, 'string'), expr: d.idText(key), key } : c(col, 'string')
  }
  if (ctx.rs.kind === 'Group' && r.attr.name === 'members') {
    return {
      select: (cond) => sql`${id} in (select ${d.idText(sql.ref('m.group_id'))} from group_members as m where m.org_id = ${orgKey} and ${cond})`,
      column: (sub) =>
        sub === 'value' ? keyed('m.member_id') : sub === 'type' ? c('m.member_type', 'string', { caseInsensitive: true }) : null,
      complete: true,
    }
  }
  if (ctx.rs.kind === 'User' && r.attr.name === 'groups') {
    return {
      select: (cond) => sql`${id} in (select ${d.idText(sql.ref('m.member_id'))} from group_members as m where m.org_id = ${orgKey} and ${cond})`,
      column: (sub) => (sub === 'value' ? keyed('m.group_id') : null),
      complete: true,
    }
  }
  return null
}

/** `pr` on a multi-valued attribute: some element has a present member (evaluate.ts isPresent). */
function multiValuedPresent(ctx: CompileContext, r: ResolvedAttr): Expr {
  const side = sideTable(ctx, r)
  if (side?.complete) return side.select(ctx.dialect.true)
  // Not the email index: an email may have a type and no value.
  return ctx.dialect.existsElement(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), (elem) =>
    r.attr.subAttributes ? anyMemberPresent(ctx, elem, [], r.attr) : present(ctx, jsonTarget(ctx, elem, [], r.attr)))
}

/** Sub-attribute names an element filter mentions. */
function subNames(f: Filter, out: Set<string> = new Set()): Set<string> {
  switch (f.kind) {
    case 'and':
    case 'or':
      f.filters.forEach((x) => subNames(x, out))
      return out
    case 'not':
      return subNames(f.filter, out)
    case 'valuePath':
      invalid('A value filter cannot contain another value filter')
      break
    default:
      out.add(f.path.name.toLowerCase())
  }
  return out
}

/**
 * Whether every element satisfying the element filter `f` (on `value` only) has a non-empty
 * value, so that an index of the non-empty values answers it. `ne`, `lt`, `le`, `eq ""`, `ge ""`
 * and `not` also hold for an element whose value is "" or absent.
 */
function needsValue(f: Filter): boolean {
  switch (f.kind) {
    case 'present':
      return true
    case 'compare':
      if (f.value === null) return f.op === 'ne'
      if (typeof f.value !== 'string') return true
      return f.op === 'co' || f.op === 'sw' || f.op === 'ew' || f.op === 'gt' || ((f.op === 'eq' || f.op === 'ge') && f.value !== '')
    case 'and':
      return f.filters.some(needsValue)
    case 'or':
      return f.filters.every(needsValue)
    default:
      return false
  }
}

/** `attr[filter]`: some element of the multi-valued attribute satisfies `filter`. */
function valuePath(ctx: CompileContext, path: AttrPath, inner: Filter): Expr {
  const r = resolve(ctx, path)
  if (!r.attr.multiValued || r.sub) invalid(`${quote(pathName(path))} is not a multi-valued attribute`)
  const subs = [...subNames(inner)].map((n) => {
    const s = r.attr.subAttributes ? findSub(r.attr, n) : undefined
    if (!s) invalid(`Unknown sub-attribute ${quote(n)} of ${quote(r.attr.name)}`)
    return s
  })
  const side = sideTable(ctx, r)
  const onSide = (f: Filter) => side ? side.select(elementFilter(ctx, r.attr, f, (s) => side.column(s.name) as Target)) : ctx.dialect.false
  if (side?.complete) {
    const other = subs.find((s) => side.column(s.name) === null)
    if (other) invalid(`Sub-attribute ${quote(other.name)} of ${quote(r.attr.name)} cannot be used in a filter`)
    return onSide(inner)
  }
  const json = ctx.dialect.existsElement(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), (elem) =>
    elementFilter(ctx, r.attr, inner, (s) => jsonTarget(ctx, elem, [s.name], s)))
  if (!side) return json
  // The email index answers the conjuncts on `value` that only an element with a value can
  // satisfy: alone when they are the whole filter, else as a narrowing of the JSON test.
  const conjuncts = inner.kind === 'and' ? inner.filters : [inner]
  const indexed = conjuncts.filter((f) => [...subNames(f)].every((n) => side.column(n) !== null) && needsValue(f))
  if (indexed.length === 0) return json
  const pre = onSide(indexed.length === 1 && indexed[0] ? indexed[0] : { kind: 'and', filters: indexed })
  return indexed.length === conjuncts.length ? pre : sql`(${pre} and ${json})`
}

function elementFilter(ctx: CompileContext, parent: AttributeDef, f: Filter, target: (sub: AttributeDef) => Target): Expr {
  switch (f.kind) {
    case 'and':
      return sql`(${sql.join(f.filters.map((x) => elementFilter(ctx, parent, x, target)), sql` and `)})`
    case 'or':
      return sql`(${sql.join(f.filters.map((x) => elementFilter(ctx, parent, x, target)), sql` or `)})`
    case 'not':
      return sql`(not ${elementFilter(ctx, parent, f.filter, target)})`
    case 'valuePath':
      return invalid('A value filter cannot contain another value filter')
    case 'present':
    case 'compare': {
      if (f.path.uri !== null || f.path.sub !== null) invalid(`Expected a sub-attribute of ${quote(parent.name)}`)
      const sub = parent.subAttributes ? findSub(parent, f.path.name) : undefined
      if (!sub) invalid(`Unknown sub-attribute ${quote(f.path.name)} of ${quote(parent.name)}`)
      if (sub.returned === 'never') invalid(`Attribute ${quote(sub.name)} cannot be used in a filter`)
      if (sub.type === 'complex') invalid(`Sub-attribute ${quote(sub.name)} is complex`)
      return compare(ctx, target(sub), f, sub)
    }
    default: {
      const never: never = f
      return never
    }
  }
}

/** An ORDER BY expression for a sortBy attribute (RFC 7644 §3.4.2.3). */
export function sortExpr(ctx: CompileContext, path: AttrPath): Expr {
  const r = resolveFilterAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathName(path))} in sortBy`)
  const leafAttr = r.sub ?? r.attr
  // Multi-valued: sort by the primary value, else the first one (RFC 7644 §3.4.2.3), compared as
  // a filter compares it (folded when the sub-attribute is not caseExact).
  if (r.attr.multiValued) {
    if (!r.attr.subAttributes) {
      // A multi-valued simple attribute (an organization's declared `tags`) has no primary: its first element.
      const e = ctx.dialect.jsonValue(ctx.dialect.body(ctx.alias), [...jsonPathOf(ctx, { ...r, sub: null }), '0'], jsonType(valueKind(r.attr) ?? 'string'))
      return r.attr.caseExact || valueKind(r.attr) !== 'string' ? e : ctx.dialect.fold(e)
    }
    const sub = r.sub ?? (r.attr.subAttributes ? findSub(r.attr, 'value') ?? null : null)
    if (!sub || sub.type === 'complex') invalid(`Cannot sort by ${quote(pathName(path))}`)
    // Members and groups live in their own rows, not in the body: no value to sort by (as before).
    if (sideTable(ctx, r)?.complete) return sql`null`
    const e = ctx.dialect.primaryValue(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, { ...r, sub: null }), sub.name)
    return sub.caseExact || valueKind(sub) !== 'string' ? e : ctx.dialect.fold(e)
  }
  if (leafAttr.type === 'complex') invalid(`Cannot sort by complex attribute ${quote(leafAttr.name)}`)
  if (r.attr.name === 'meta' && r.sub?.name !== 'created' && r.sub?.name !== 'lastModified') invalid(`Cannot sort by meta.${r.sub?.name ?? ''}`)
  // The `active` column (absent read as true, rows.ts) sorts; filters read the body.
  if (ctx.rs.kind === 'User' && r.schema === ctx.rs.core.id && r.attr.name === 'active') return sql.ref(`${ctx.alias}.active`)
  const t = columnTarget(ctx, r) ?? jsonTarget(ctx, ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), leafAttr)
  return t.caseInsensitive && !t.folded ? ctx.dialect.fold(t.expr) : t.expr
}
