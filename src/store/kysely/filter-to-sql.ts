// Compiles a filter AST (RFC 7644 §3.4.2.2) to one SQL boolean expression. Structure is
// compiled, values are always bound parameters, and `co`/`sw`/`ew` use substring functions, not
// LIKE, so `%`, `_` and `\` match literally (docs/architecture.md INP-3). Every leaf is two-valued
// (never NULL), so `not` and `ne` agree with the reference evaluator (scim/filter/evaluate.ts).
//
// Where an attribute lives decides its SQL: indexed columns (userName folded, externalId, id,
// meta.created/lastModified) and JSON paths into the stored body (filter-targets.ts), and side
// tables (user_emails, group_members; filter-side-tables.ts) reached by an uncorrelated
// `id IN (SELECT ...)` that the planner turns into an index lookup. This file walks the AST and
// decides which; filter-compare.ts compiles each comparison. test/e2e/filter-differential.test.ts
// holds the SQL and the evaluator to agreement on random filters over adversarial data.
//
// Strings order by code point: SQLite's BINARY collation on UTF-8 does, and in PostgreSQL every
// ordering comparison is made `collate "C"`, whatever the database's collation. The evaluator
// orders by UTF-16 code unit; the two differ only where an astral character meets one in
// U+E000..U+FFFF, which is accepted.
import { sql } from 'kysely'
import { pathText, type AttrPath, type Filter } from '../../scim/filter/ast.ts'
import { quote } from '../../scim/errors.ts'
import { findSub, type ResolvedAttr } from '../../scim/schema/registry.ts'
import type { AttributeDef } from '../../scim/schema/types.ts'
import type { Expr } from '../dialect/sql-dialect.ts'
import { anyMemberPresent, compare, present, type Leaf } from './filter-compare.ts'
import { sideTable } from './filter-side-tables.ts'
import { columnTarget, invalid, jsonPathOf, jsonTarget, resolve, type CompileContext, type Target } from './filter-targets.ts'

/** Terms of one `and`/`or` written side by side in SQL before they are grouped (`chain`). */
const CHAIN_GROUP = 16

/**
 * `parts` joined by `op`, grouped in parentheses of at most CHAIN_GROUP terms, groups of groups
 * and so on. SQLite parses `a or b or c …` into a tree as deep as the chain is long and refuses a
 * statement whose expression tree is deeper than 1,000 (SQLITE_MAX_EXPR_DEPTH, sqlite.org
 * "Limits In SQLite" §5): an `or` of the 1,000 comparisons a filter may hold (MAX_FILTER_TERMS)
 * was a 500. Grouped, 1,000 terms are three levels of groups, under 50 deep. PostgreSQL gets the
 * same SQL (its parser recurses as deep).
 */
function chain(parts: readonly Expr[], op: 'and' | 'or'): Expr {
  const glue = op === 'and' ? sql` and ` : sql` or `
  let level = parts
  while (level.length > CHAIN_GROUP) {
    const next: Expr[] = []
    for (let i = 0; i < level.length; i += CHAIN_GROUP) next.push(sql`(${sql.join(level.slice(i, i + CHAIN_GROUP), glue)})`)
    level = next
  }
  return sql`(${sql.join(level, glue)})`
}

/** Compiles `filter` for the resource table aliased `ctx.alias`. */
export function filterToSql(ctx: CompileContext, filter: Filter): Expr {
  switch (filter.kind) {
    case 'and':
      return chain(filter.filters.map((f) => filterToSql(ctx, f)), 'and')
    case 'or':
      return chain(filter.filters.map((f) => filterToSql(ctx, f)), 'or')
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
  if (!r.attr.multiValued || r.sub) invalid(`${quote(pathText(path))} is not a multi-valued attribute`)
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
      return chain(f.filters.map((x) => elementFilter(ctx, parent, x, target)), 'and')
    case 'or':
      return chain(f.filters.map((x) => elementFilter(ctx, parent, x, target)), 'or')
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
