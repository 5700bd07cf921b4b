// Uniqueness of declared attributes (RFC 7643 §2.4 `uniqueness`, docs/custom-attributes.md): which
// attributes of a resource type are unique, and the comparison key of each value, so that two
// values the filter grammar calls equal (RFC 7644 §3.4.2.2) have one key. The store keeps the keys
// in a table with a unique index (store/unique-store.ts); this file only says what they are.
//
// `server` and `global` are enforced alike: a single service provider can only make a value unique
// among its own resources (RFC 7643 §2.4: "global" asks that no two resources on any server share it).
// Per organization and resource type, as userName is.
import { fold } from '../fold.ts'
import { getIgnoringCase } from '../resource.ts'
import type { ResourceSchema } from './registry.ts'
import type { AttributeDef, SchemaDef } from './types.ts'

/** A declared attribute whose values are unique: single-valued, not complex, in a declared extension. */
export interface UniqueAttribute {
  readonly schema: string
  readonly attr: AttributeDef
}

/** One value a resource holds of a unique attribute, with its comparison key. */
export interface UniqueValue {
  /** The extension's URN as declared (canonical spelling). */
  readonly schema: string
  /** The attribute's canonical name. */
  readonly name: string
  /** Equal for exactly the values the attribute's type and caseExact call equal. */
  readonly key: string
  /** The value as stored, for an error's detail. */
  readonly value: unknown
}

/** Whether an attribute's declared uniqueness is enforced: RFC 7643 §2.4 `server` or `global`. */
export function isUnique(a: AttributeDef): boolean {
  return a.uniqueness !== 'none' && !a.multiValued && a.type !== 'complex'
}

/** The unique attributes of one schema. */
export function uniqueOf(schema: SchemaDef): UniqueAttribute[] {
  return schema.attributes.filter(isUnique).map((attr) => ({ schema: schema.id, attr }))
}

/**
 * The resource type's unique declared attributes. The standard schemas' unique attributes
 * (userName, a group's displayName, id) have columns of their own and are not listed here; the
 * core schema is skipped and the enterprise extension declares none.
 */
export function uniqueAttributes(rs: ResourceSchema): UniqueAttribute[] {
  return rs.extensions.flatMap(uniqueOf)
}

/**
 * A value's comparison key as its type compares (RFC 7644 §3.4.2.2): a string, reference or
 * binary exactly when caseExact, else folded as userName is (scim/fold.ts); a number by its value
 * (1 and 1.0 are one); a boolean; a dateTime by the instant it names, whatever its offset; null when
 * the value is not one the type holds (validation refuses those before any write).
 */
export function uniqueKey(attr: AttributeDef, value: unknown): string | null {
  switch (attr.type) {
    case 'string':
    case 'reference':
    case 'binary':
      return typeof value === 'string' ? (attr.caseExact ? value : fold(value)) : null
    case 'integer':
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) ? String(value) : null
    case 'boolean':
      return typeof value === 'boolean' ? String(value) : null
    case 'dateTime': {
      // Without an offset a dateTime is UTC, as the filters read it (not the server's time zone).
      const utc = typeof value === 'string' && /T/i.test(value) && !/(?:Z|[+-]\d\d:?\d\d)$/i.test(value) ? `${value}Z` : value
      const t = typeof utc === 'string' ? Date.parse(utc) : Number.NaN
      return Number.isNaN(t) ? null : new Date(t).toISOString()
    }
    default:
      return null
  }
}

/** The values a body holds of the given unique attributes (none for an absent or null value). */
export function uniqueValuesOf(attrs: readonly UniqueAttribute[], body: Readonly<Record<string, unknown>>): UniqueValue[] {
  const out: UniqueValue[] = []
  for (const u of attrs) {
    const ext = getIgnoringCase(body, u.schema)
    if (typeof ext !== 'object' || ext === null || Array.isArray(ext)) continue
    const value = getIgnoringCase(ext as Record<string, unknown>, u.attr.name)
    if (value === undefined || value === null) continue
    const key = uniqueKey(u.attr, value)
    if (key !== null) out.push({ schema: u.schema, name: u.attr.name, key, value })
  }
  return out
}

/** The values a body holds of the resource type's unique attributes. */
export function uniqueValues(rs: ResourceSchema, body: Readonly<Record<string, unknown>>): UniqueValue[] {
  const attrs = uniqueAttributes(rs)
  return attrs.length === 0 ? [] : uniqueValuesOf(attrs, body)
}

/** What decides a schema's unique index: its resource type and each unique attribute's name, type and caseExact. */
export function uniqueSignature(resourceType: string, schema: SchemaDef | null): string {
  if (!schema) return ''
  const attrs = uniqueOf(schema).map((u) => `${u.attr.name.toLowerCase()}:${u.attr.type}:${u.attr.caseExact}`)
  return attrs.length === 0 ? '' : `${resourceType}|${attrs.sort().join(',')}`
}
