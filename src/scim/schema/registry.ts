// Resource types and attribute-name resolution. Attribute names and schema URNs are
// case-insensitive on input (RFC 7643 §2.1); resolution returns the canonical spelling.
import type { AttrPath } from '../filter/ast.ts'
import { commonAttributes } from './common.ts'
import { ENTERPRISE_USER_SCHEMA, enterpriseUserSchema } from './enterprise-user.ts'
import { GROUP_SCHEMA, groupSchema } from './group.ts'
import type { AttributeDef, ResourceTypeDef, SchemaDef } from './types.ts'
import { USER_SCHEMA, userSchema } from './user.ts'

export type ResourceKind = 'User' | 'Group'

export interface ResourceSchema {
  readonly kind: ResourceKind
  readonly core: SchemaDef
  readonly extensions: readonly SchemaDef[]
  readonly resourceType: ResourceTypeDef
  /**
   * For an organization that declares (or once declared) extensions: the body as SCIM shows it,
   * without values of extensions it no longer declares and without declared attributes that are
   * never returned (returned: never, or writeOnly), nor, when `dropRequested`, those returned only
   * on request (RFC 7643 §2.2). Absent for the standard resource types, whose bodies hold only
   * what they show.
   */
  readonly clean?: (body: Record<string, unknown>, dropRequested: boolean) => Record<string, unknown>
  /**
   * The version of the organization's declarations this was built from (orgs.schema_version; 0
   * for the standard resource types): a write checks it in its transaction, so that one built
   * before a declaration changed never commits under it (provisioning/unique.ts).
   */
  readonly schemaVersion?: number
}

export const userResource: ResourceSchema = Object.freeze<ResourceSchema>({
  kind: 'User',
  core: userSchema,
  extensions: [enterpriseUserSchema],
  resourceType: {
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
  },
})

export const groupResource: ResourceSchema = Object.freeze<ResourceSchema>({
  kind: 'Group',
  core: groupSchema,
  extensions: [],
  resourceType: { id: 'Group', name: 'Group', endpoint: '/Groups', description: 'Group', schema: GROUP_SCHEMA, schemaExtensions: [] },
})

export const allSchemas: readonly SchemaDef[] = [userSchema, enterpriseUserSchema, groupSchema]

/** A resolved attribute: the schema it lives in (null for the common id/externalId/meta), the
 * top-level definition, and the sub-attribute when one was named. Names are canonical. */
export interface ResolvedAttr {
  readonly schema: string | null
  readonly attr: AttributeDef
  readonly sub: AttributeDef | null
}

/**
 * Each attribute list's definitions by lower-cased name, made on a list's first lookup. The lists
 * are immutable (a declaration change builds new ones), so this is derived data, not a cache that
 * could go stale; a lookup is one map read instead of lower-casing every name before the match
 * (validating a create looked names up a few dozen times: 1.4 % of the event loop).
 */
const byLowerName = new WeakMap<readonly AttributeDef[], ReadonlyMap<string, AttributeDef>>()

function findIn(list: readonly AttributeDef[], name: string): AttributeDef | undefined {
  let index = byLowerName.get(list)
  if (index === undefined) {
    const m = new Map<string, AttributeDef>()
    // The first of two spellings wins, as a search from the front found it.
    for (const a of list) {
      const lower = a.name.toLowerCase()
      if (!m.has(lower)) m.set(lower, a)
    }
    index = m
    byLowerName.set(list, index)
  }
  return index.get(name.toLowerCase())
}

/** The schema (core or extension) whose URN matches `uri`, case-insensitively. */
export function findSchema(rs: ResourceSchema, uri: string): SchemaDef | undefined {
  const lower = uri.toLowerCase()
  if (rs.core.id.toLowerCase() === lower) return rs.core
  return rs.extensions.find((s) => s.id.toLowerCase() === lower)
}

/** Finds a top-level attribute by name in the core schema or the common attributes. */
export function findTopLevel(rs: ResourceSchema, name: string): { schema: string | null; attr: AttributeDef } | undefined {
  const common = findIn(commonAttributes, name)
  if (common) return { schema: null, attr: common }
  const core = findIn(rs.core.attributes, name)
  if (core) return { schema: rs.core.id, attr: core }
  return undefined
}

/** Finds a sub-attribute of a complex attribute, case-insensitively. */
export function findSub(parent: AttributeDef, name: string): AttributeDef | undefined {
  return parent.subAttributes ? findIn(parent.subAttributes, name) : undefined
}

/**
 * Resolves an attribute path against a resource's schemas, or returns null when any part of it
 * is unknown. `uri` selects an extension (or the core schema, written out in full).
 */
export function resolveAttr(rs: ResourceSchema, path: AttrPath): ResolvedAttr | null {
  let top: { schema: string | null; attr: AttributeDef } | undefined
  if (path.uri !== null) {
    const schema = findSchema(rs, path.uri)
    if (!schema) return null
    const a = findIn(schema.attributes, path.name)
    top = a ? { schema: schema.id, attr: a } : schema === rs.core ? findTopLevel(rs, path.name) : undefined
  } else {
    top = findTopLevel(rs, path.name)
  }
  if (!top) return null
  if (path.sub === null) return { ...top, sub: null }
  const sub = findSub(top.attr, path.sub)
  return sub ? { ...top, sub } : null
}

/**
 * A resource type with an organization's declared extensions beside its standard ones
 * (schema/declared.ts): validation, filters, PATCH, projection and /Schemas read it exactly as
 * they read the standard resource types.
 */
export function withExtensions(base: ResourceSchema, declared: readonly { readonly schema: SchemaDef; readonly required: boolean }[], schemaVersion = 0): ResourceSchema {
  const extensions = [...base.extensions, ...declared.map((d) => d.schema)]
  const known = new Set(extensions.map((e) => e.id))
  const unseen = (a: AttributeDef, dropRequested: boolean) => a.returned === 'never' || a.mutability === 'writeOnly' || (dropRequested && a.returned === 'request')
  const clean = (body: Record<string, unknown>, dropRequested: boolean): Record<string, unknown> => {
    let out: Record<string, unknown> | null = null
    for (const key of Object.keys(body)) {
      if (!key.startsWith('urn:')) continue
      if (!known.has(key)) {
        out ??= { ...body }
        delete out[key]
        continue
      }
      const schema = declared.find((d) => d.schema.id === key)?.schema
      const value = body[key]
      if (!schema || typeof value !== 'object' || value === null) continue
      const hidden = schema.attributes.filter((a) => unseen(a, dropRequested) && a.name in value)
      if (hidden.length === 0) continue
      const kept: Record<string, unknown> = { ...(value as Record<string, unknown>) }
      for (const a of hidden) delete kept[a.name]
      out ??= { ...body }
      if (Object.keys(kept).length === 0) delete out[key]
      else out[key] = kept
    }
    return out ?? body
  }
  return Object.freeze<ResourceSchema>({
    ...base,
    extensions,
    resourceType: {
      ...base.resourceType,
      schemaExtensions: [...base.resourceType.schemaExtensions, ...declared.map((d) => ({ schema: d.schema.id, required: d.required }))],
    },
    clean,
    schemaVersion,
  })
}

/**
 * resolveAttr for filters and sortBy, which also resolve a bare name that no core or common
 * attribute has and exactly one extension declares (`manager`, `department`): Microsoft Entra ID
 * filters on `manager eq "id"` without the enterprise URN, as it names `manager` bare in PATCH
 * paths ("Develop and plan provisioning for a SCIM endpoint", Example 5). No core name is shadowed.
 */
export function resolveFilterAttr(rs: ResourceSchema, path: AttrPath): ResolvedAttr | null {
  const r = resolveAttr(rs, path)
  if (r || path.uri !== null || findTopLevel(rs, path.name)) return r
  const owners = rs.extensions.filter((ext) => findIn(ext.attributes, path.name))
  const only = owners.length === 1 ? owners[0] : undefined
  return only ? resolveAttr(rs, { ...path, uri: only.id }) : null
}
