// Where a filtered or sorted attribute's value lives, as SQL (filter-to-sql.ts, sort-to-sql.ts):
// an indexed column of the resource's table (userName folded, externalId, id, meta.created and
// lastModified, displayName), or a JSON path into the stored body, with the kind of value there
// and how it compares (folded, case-insensitive, nullable, native booleans).
import { sql } from 'kysely'
import { pathText, type AttrPath } from '../../scim/filter/ast.ts'
import { ScimError, quote } from '../../scim/errors.ts'
import { resolveFilterAttr, type ResolvedAttr, type ResourceSchema } from '../../scim/schema/registry.ts'
import type { AttributeDef } from '../../scim/schema/types.ts'
import type { Expr, JsonValueType, SqlDialect } from '../dialect/sql-dialect.ts'

export interface CompileContext {
  readonly rs: ResourceSchema
  readonly dialect: SqlDialect
  readonly orgId: string
  /** Alias of the resource table in the enclosing query. */
  readonly alias: string
}

export type ValueKind = 'string' | 'boolean' | 'number' | 'dateTime'

/** A place a comparable value lives, and how to compare against it. */
export interface Target {
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

export function invalid(detail: string): never {
  throw new ScimError(400, 'invalidFilter', detail)
}

export function valueKind(a: AttributeDef): ValueKind | null {
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

export function jsonType(k: ValueKind): JsonValueType {
  return k === 'boolean' ? 'boolean' : k === 'number' ? 'number' : 'string'
}

/** The attribute a filter names, refused when unknown or when it is never returned (RFC 7643: `returned: "never"`, as `password`). */
export function resolve(ctx: CompileContext, path: AttrPath): ResolvedAttr {
  const r = resolveFilterAttr(ctx.rs, path)
  if (!r) invalid(`Unknown attribute ${quote(pathText(path))} in filter`)
  if (r.attr.returned === 'never' || r.sub?.returned === 'never') invalid(`Attribute ${quote(r.attr.name)} cannot be used in a filter`)
  return r
}

/** The JSON key path of a resolved attribute inside the stored body. */
export function jsonPathOf(ctx: CompileContext, r: ResolvedAttr): string[] {
  const base = r.schema !== null && r.schema !== ctx.rs.core.id ? [r.schema, r.attr.name] : [r.attr.name]
  return r.sub ? [...base, r.sub.name] : base
}

/** A value at `path` inside the JSON document `doc`, compared as attribute `a`. */
export function jsonTarget(ctx: CompileContext, doc: Expr, path: readonly string[], a: AttributeDef): Target {
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
export function columnTarget(ctx: CompileContext, r: ResolvedAttr): Target | null {
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
