// One comparison of a filter compiled (RFC 7644 §3.4.2.2): the literal checked against the
// attribute's kind and folded as the attribute compares, then `pr`, `eq`, the orderings and the
// substring operators on a Target (filter-targets.ts). Values are bound parameters; `sw` on an
// indexed column is an index range, `co`/`ew` are substring functions, never LIKE.
import { sql } from 'kysely'
import type { CompValue, CompareOp, Filter } from '../../scim/filter/ast.ts'
import { quote } from '../../scim/errors.ts'
import { fold } from '../../scim/fold.ts'
import type { AttributeDef } from '../../scim/schema/types.ts'
import type { Expr } from '../dialect/sql-dialect.ts'
import { invalid, jsonTarget, type CompileContext, type Target } from './filter-targets.ts'

/** A comparison or a presence test: the filter nodes that name one attribute. */
export type Leaf = Extract<Filter, { kind: 'compare' } | { kind: 'present' }>

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

/** `pr` on a Target: not null, and for strings not empty (evaluate.ts isPresent). */
export function present(ctx: CompileContext, t: Target): Expr {
  if (!t.nullable) return ctx.dialect.true
  return t.kind === 'string' ? sql`(${t.expr} is not null and ${t.expr} <> '')` : sql`(${t.expr} is not null)`
}

/** `f` on a Target holding values of attribute `a`. */
export function compare(ctx: CompileContext, t: Target, f: Leaf, a: AttributeDef): Expr {
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
      // Code-point order in PostgreSQL whatever the database's collation (filter-to-sql.ts's header).
      const ordered = t.kind !== 'number' ? ctx.dialect.codePoint(lhs) : lhs
      return sql`${ordered} ${sql.raw(SQL_OPS[op])} ${value}`
    }
  }
}

/** Some sub-attribute of the complex JSON value at `path` inside `doc` is present. */
export function anyMemberPresent(ctx: CompileContext, doc: Expr, path: readonly string[], a: AttributeDef): Expr {
  const subs = (a.subAttributes ?? []).filter((s) => s.type !== 'complex')
  if (subs.length === 0) return ctx.dialect.false
  return sql`(${sql.join(subs.map((s) => present(ctx, jsonTarget(ctx, doc, [...path, s.name], s))), sql` or `)})`
}
