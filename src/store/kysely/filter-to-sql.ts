// Compiles a filter AST (RFC 7644 §3.4.2.2) to one SQL boolean expression. Structure is
// compiled, values are always bound parameters, and `co`/`sw`/`ew` use substring functions, not
// LIKE, so `%`, `_` and `\` match literally (RELIABILITY.md INP-3). Every leaf is two-valued
// (never NULL), so `not` and `ne` agree with the reference evaluator (scim/filter/evaluate.ts).
//
// Where an attribute lives decides its SQL: indexed columns (userName folded, externalId, id,
// active, meta.created/lastModified), side tables (user_emails, group_members) reached by an
// uncorrelated `id IN (SELECT ...)` that the planner turns into an index lookup, and JSON paths
// into the stored body for the rest.
import { sql } from 'kysely'
import type { AttrPath, CompValue, Filter } from '../../scim/filter/ast.ts'
import { ScimError, quote } from '../../scim/errors.ts'
import { fold } from '../../scim/fold.ts'
import { findSub, resolveAttr, type ResolvedAttr, type ResourceSchema } from '../../scim/schema/registry.ts'
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
  const r = resolveAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathName(path))} in filter`)
  if (r.attr.returned === 'never' || r.sub?.returned === 'never') invalid(`Attribute ${quote(r.attr.name)} cannot be used in a filter`)
  return r
}

type Leaf = Extract<Filter, { kind: 'compare' } | { kind: 'present' }>

function leaf(ctx: CompileContext, f: Leaf): Expr {
  const r = resolve(ctx, f.path)
  // `emails.value eq x` and `emails eq x` on a multi-valued attribute: any element matches
  // (RFC 7644 §3.4.2.2). `ne` is the negation of "some element equals".
  if (r.attr.multiValued) {
    const sub = r.sub ?? (r.attr.subAttributes ? findSub(r.attr, 'value') ?? null : null)
    const inner: Leaf = f.kind === 'present'
      ? { kind: 'present', path: { uri: null, name: sub ? sub.name : 'value', sub: null } }
      : { ...f, op: f.op === 'ne' ? 'eq' : f.op, path: { uri: null, name: sub ? sub.name : 'value', sub: null } }
    if (f.kind === 'present' && !r.sub) return multiValuedPresent(ctx, r)
    const any = valuePath(ctx, f.path.sub ? { ...f.path, sub: null } : f.path, inner)
    return f.kind === 'compare' && f.op === 'ne' ? sql`(not ${any})` : any
  }
  const leafAttr = r.sub ?? r.attr
  if (leafAttr.type === 'complex') {
    if (f.kind === 'present') return ctx.dialect.jsonPresent(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), 'object')
    invalid(`Attribute ${quote(leafAttr.name)} is complex; compare one of its sub-attributes`)
  }
  const target = columnTarget(ctx, r) ?? jsonTarget(ctx, ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), leafAttr)
  return compare(ctx, target, f, leafAttr)
}

/** The JSON key path of a resolved attribute inside the stored body. */
function jsonPathOf(ctx: CompileContext, r: ResolvedAttr): string[] {
  const base = r.schema !== null && r.schema !== ctx.rs.core.id ? [r.schema, r.attr.name] : [r.attr.name]
  return r.sub ? [...base, r.sub.name] : base
}

function jsonTarget(ctx: CompileContext, doc: Expr, path: readonly string[], a: AttributeDef): Target {
  const kind = valueKind(a)
  if (kind === null) invalid(`Attribute ${quote(a.name)} is complex; compare one of its sub-attributes`)
  return {
    expr: ctx.dialect.jsonValue(doc, path, jsonType(kind)),
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
          return { ...col(ctx, 'id', 'string'), expr: sql`${ctx.rs.kind}` }
        default:
          invalid(`meta.${r.sub?.name ?? ''} cannot be used in a filter`)
      }
    }
    return null
  }
  if (r.schema !== ctx.rs.core.id || r.sub) return null
  if (ctx.rs.kind === 'User') {
    if (name === 'userName') return col(ctx, 'user_name_folded', 'string', { folded: true })
    if (name === 'active') return col(ctx, 'active', 'boolean')
    if (name === 'displayName') return col(ctx, 'display_name', 'string', { ci: true, nullable: true })
  } else if (name === 'displayName') {
    return col(ctx, 'display_name_folded', 'string', { folded: true })
  }
  return null
}

function literal(target: Target, f: Extract<Filter, { kind: 'compare' }>, a: AttributeDef): CompValue {
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
  const lhs = t.caseInsensitive && !t.folded ? ctx.dialect.fold(t.expr) : t.expr
  const guard = (e: Expr): Expr => (t.nullable ? sql`(${t.expr} is not null and ${e})` : e)
  switch (f.op) {
    case 'ne':
      return sql`(not ${guard(sql`${lhs} = ${value}`)})`
    case 'co':
    case 'sw':
    case 'ew': {
      if (value === '') return present(ctx, t)
      const fn = f.op === 'co' ? ctx.dialect.contains : f.op === 'sw' ? ctx.dialect.startsWith : ctx.dialect.endsWith
      const test = fn(lhs, sql`${value}`)
      // In code-point order the strings starting with p are exactly those in [p, p'), p' being
      // p with its last code point incremented: the prefix test is an index range, with no
      // function to evaluate per row.
      if (f.op === 'sw' && typeof value === 'string' && ctx.dialect.codePointOrder && lhs === t.expr) {
        const upper = prefixUpperBound(value)
        return guard(upper === null ? sql`(${lhs} >= ${value} and ${test})` : sql`(${lhs} >= ${value} and ${lhs} < ${upper})`)
      }
      return guard(test)
    }
    default:
      return guard(sql`${lhs} ${sql.raw(SQL_OPS[f.op])} ${value}`)
  }
}

/** Side-table columns for multi-valued attributes that are filtered on often. */
interface SideTable {
  readonly select: (cond: Expr) => Expr
  readonly column: (sub: string) => Target | null
}

function sideTable(ctx: CompileContext, r: ResolvedAttr): SideTable | null {
  const id = sql.ref(`${ctx.alias}.id`)
  const c = (expr: string, kind: ValueKind, opts: Partial<Target> = {}): Target => ({
    expr: sql.ref(expr), kind, folded: false, caseInsensitive: false, nullable: false, nativeBoolean: false, ...opts,
  })
  if (ctx.rs.kind === 'User' && r.schema === ctx.rs.core.id && r.attr.name === 'emails') {
    return {
      select: (cond) => sql`${id} in (select e.user_id from user_emails as e where e.org_id = ${ctx.orgId} and ${cond})`,
      column: (sub) =>
        sub === 'value' ? c('e.value_folded', 'string', { folded: true })
          : sub === 'type' ? c('e.type', 'string', { folded: true, nullable: true })
          : sub === 'primary' ? c('e.is_primary', 'boolean')
          : null,
    }
  }
  if (ctx.rs.kind === 'Group' && r.attr.name === 'members') {
    return {
      select: (cond) => sql`${id} in (select m.group_id from group_members as m where m.org_id = ${ctx.orgId} and ${cond})`,
      column: (sub) =>
        sub === 'value' ? c('m.member_id', 'string') : sub === 'type' ? c('m.member_type', 'string', { caseInsensitive: true }) : null,
    }
  }
  if (ctx.rs.kind === 'User' && r.attr.name === 'groups') {
    return {
      select: (cond) => sql`${id} in (select m.member_id from group_members as m where m.org_id = ${ctx.orgId} and ${cond})`,
      column: (sub) => (sub === 'value' ? c('m.group_id', 'string') : null),
    }
  }
  return null
}

function multiValuedPresent(ctx: CompileContext, r: ResolvedAttr): Expr {
  const side = sideTable(ctx, r)
  if (side) return side.select(ctx.dialect.true)
  return ctx.dialect.jsonPresent(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), 'array')
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
  if (side && subs.every((s) => side.column(s.name) !== null)) {
    return side.select(elementFilter(ctx, r.attr, inner, (s) => side.column(s.name) as Target))
  }
  if (side && r.attr.name !== 'emails') invalid(`Only ${quote('value')} can be filtered on ${quote(r.attr.name)}`)
  return ctx.dialect.existsElement(ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), (elem) =>
    elementFilter(ctx, r.attr, inner, (s) => jsonTarget(ctx, elem, [s.name], s)))
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
  const r = resolveAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathName(path))} in sortBy`)
  const leafAttr = r.sub ?? r.attr
  // Multi-valued: sort by the first element's value (the primary one is listed first by
  // convention; RFC 7644 §3.4.2.3 asks for the primary value).
  if (r.attr.multiValued) {
    const sub = r.sub?.name ?? 'value'
    return ctx.dialect.jsonValue(ctx.dialect.body(ctx.alias), [...jsonPathOf(ctx, { ...r, sub: null }), '0', sub], 'string')
  }
  if (leafAttr.type === 'complex') invalid(`Cannot sort by complex attribute ${quote(leafAttr.name)}`)
  if (r.attr.name === 'meta' && r.sub?.name !== 'created' && r.sub?.name !== 'lastModified') invalid(`Cannot sort by meta.${r.sub?.name ?? ''}`)
  const t = columnTarget(ctx, r) ?? jsonTarget(ctx, ctx.dialect.body(ctx.alias), jsonPathOf(ctx, r), leafAttr)
  return t.caseInsensitive && !t.folded ? ctx.dialect.fold(t.expr) : t.expr
}
