// The side tables a filter on a multi-valued attribute can read instead of the stored body:
// user_emails for a user's `emails` (an index of the non-empty values), group_members for a
// group's `members` and a user's `groups` (where membership lives, and only there).
import { sql } from 'kysely'
import type { ResolvedAttr } from '../../scim/schema/registry.ts'
import type { Expr } from '../dialect/sql-dialect.ts'
import type { CompileContext, Target, ValueKind } from './filter-targets.ts'

/** Side-table columns for multi-valued attributes that are filtered on often. */
export interface SideTable {
  readonly select: (cond: Expr) => Expr
  readonly column: (sub: string) => Target | null
  /**
   * Every element is a row (membership, which lives only in its table). Otherwise (emails) the
   * rows index only the elements with a non-empty value, one row per folded value, and the
   * body's JSON stays the authority.
   */
  readonly complete: boolean
}

export function sideTable(ctx: CompileContext, r: ResolvedAttr): SideTable | null {
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
