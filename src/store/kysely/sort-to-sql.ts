// sortBy compiled to an ORDER BY expression (RFC 7644 §3.4.2.3), the value compared as a filter
// compares it (filter-targets.ts): folded unless caseExact, a multi-valued attribute by its
// primary (else first) value.
import { sql } from 'kysely'
import { pathText, type AttrPath } from '../../scim/filter/ast.ts'
import { quote } from '../../scim/errors.ts'
import { findSub, resolveFilterAttr } from '../../scim/schema/registry.ts'
import type { Expr } from '../dialect/sql-dialect.ts'
import { sideTable } from './filter-side-tables.ts'
import { columnTarget, invalid, jsonPathOf, jsonTarget, jsonType, valueKind, type CompileContext } from './filter-targets.ts'

/** An ORDER BY expression for a sortBy attribute (RFC 7644 §3.4.2.3). */
export function sortExpr(ctx: CompileContext, path: AttrPath): Expr {
  const r = resolveFilterAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathText(path))} in sortBy`)
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
    if (!sub || sub.type === 'complex') invalid(`Cannot sort by ${quote(pathText(path))}`)
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
