// An organization's declared extension schemas (docs/custom-attributes.md): declared, listed and
// removed by the operator (`roster schema add|list|remove`) and the vendor API
// (`/api/v1/orgs/{org}/schemas`), each change one transaction with an audit entry and an
// `organization.updated` event; and the organization's resource types with them, which every
// SCIM request of the organization validates, filters, patches and renders with.
import { DeclarationError, parseDeclaration, type DeclaredSchema } from '../scim/schema/declared.ts'
import { groupResource, userResource, withExtensions, type ResourceSchema } from '../scim/schema/registry.ts'
import type { StoredSchema } from '../store/schema-store.ts'
import type { OrgId, Store, StoreTx } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { record, viewInTx } from './org-settings.ts'
import { OrgError, findOrg } from './orgs.ts'
import { rebuildUnique } from './unique-rebuild.ts'
import { uniqueOf, uniqueSignature } from '../scim/schema/unique.ts'
import { quote } from '../scim/errors.ts'

/** Most extension schemas one organization declares. */
export const MAX_DECLARED_SCHEMAS = 20

export const SCHEMA_DECLARED = 'organization.schema_declared'
export const SCHEMA_REMOVED = 'organization.schema_removed'

export interface OrgResources {
  readonly version: number
  readonly user: ResourceSchema
  readonly group: ResourceSchema
  readonly declared: readonly DeclaredSchema[]
}

/** What `roster schema list --json` and `GET /api/v1/orgs/{org}/schemas` show of one declaration. */
export interface SchemaView {
  readonly id: string
  readonly resourceType: 'User' | 'Group'
  readonly definition: Record<string, unknown>
  readonly createdAt: string
  readonly updatedAt: string
}

const STANDARD: OrgResources = Object.freeze({ version: 0, user: userResource, group: groupResource, declared: [] })

function build(version: number, stored: readonly StoredSchema[]): OrgResources {
  // Stored declarations were checked when they were written; one that no longer parses (a
  // rule tightened since) is left out rather than failing every request of the organization.
  const declared = stored.flatMap((s) => {
    try {
      return [parseDeclaration(s.definition)]
    } catch {
      return []
    }
  })
  const of = (type: 'User' | 'Group') => declared.filter((d) => d.resourceType === type)
  return { version, user: withExtensions(userResource, of('User'), version), group: withExtensions(groupResource, of('Group'), version), declared }
}

// Built resource types per store and organization, each under the version it was built from.
// Not a cache that can go stale: every SCIM request reads its organization's current version
// with its token (store.tokenOrg) and rebuilds when the number moved.
const built = new WeakMap<Store, Map<OrgId, OrgResources>>()

/**
 * The organization's resource types with its declared extensions. `version` is the one the
 * request's token lookup read; without it (directory API, CLI) the version is read here.
 */
export async function orgResources(deps: Deps, orgId: OrgId, version?: number): Promise<OrgResources> {
  let byOrg = built.get(deps.store)
  if (!byOrg) built.set(deps.store, (byOrg = new Map()))
  const have = byOrg.get(orgId)
  if (have && version !== undefined && have.version === version) return have
  if (version === 0) return STANDARD
  const { version: current, schemas } = await deps.store.schemas.declared(orgId)
  if (have && have.version === current) return have
  const next = build(current, schemas)
  byOrg.set(orgId, next)
  return next
}

function view(s: StoredSchema): SchemaView {
  return { id: String(s.definition.id), resourceType: s.resourceType, definition: s.definition, createdAt: s.createdAt, updatedAt: s.updatedAt }
}

/** Checks a declaration without reading anything: an OrgError names the part that is wrong. */
export function checkDeclaration(input: unknown): DeclaredSchema {
  try {
    return parseDeclaration(input)
  } catch (e) {
    if (e instanceof DeclarationError) throw new OrgError('ROSTER_ERR_SCHEMA', e.message, e.path)
    throw e
  }
}

/**
 * Declares (or replaces) one extension schema of the organization. A declaration equal to the
 * stored one changes nothing and writes nothing.
 */
export async function declareSchema(deps: Deps, idOrName: string, input: unknown, actor: string): Promise<{ schema: SchemaView; replaced: boolean; changed: boolean }> {
  const d = checkDeclaration(input)
  const org = await findOrg(deps, idOrName)
  const now = deps.now().toISOString()
  return deps.store.write(async (tx) => {
    // Held until the commit: the SCIM writes wait for this change, or it waits for them
    // (provisioning/unique.ts), so the unique index rebuilt below misses no value.
    await tx.unique.lockDeclarations(org.id)
    const current = await tx.schemas.list(org.id)
    const same = current.find((s) => String(s.definition.id).toLowerCase() === d.schema.id.toLowerCase())
    if (same && JSON.stringify(same.definition) === JSON.stringify(d.definition)) return { schema: view(same), replaced: false, changed: false }
    if (!same && current.length >= MAX_DECLARED_SCHEMAS) {
      throw new OrgError('ROSTER_ERR_SCHEMA', `An organization declares at most ${MAX_DECLARED_SCHEMAS} schemas; remove one first`, 'id')
    }
    const replaced = await tx.schemas.put(org.id, d.schema.id, d.resourceType, d.definition, now)
    await reindex(tx, org.id, same ?? null, d)
    const after = await tx.schemas.list(org.id)
    const details = { schema: d.schema.id, resourceType: d.resourceType, replaced, attributes: d.schema.attributes.map((a) => a.name) }
    await record(deps, tx, org.id, now, { actor, action: SCHEMA_DECLARED, details }, await viewInTx(tx, org), ['schemas'], { schemas: idsOf(after) })
    const stored = after.find((s) => String(s.definition.id).toLowerCase() === d.schema.id.toLowerCase())
    return { schema: view(stored as StoredSchema), replaced, changed: true }
  })
}

/** The previous declaration of a URN, as it was parsed when it applied; null when it no longer parses. */
function parsedOrNull(s: StoredSchema | null): DeclaredSchema | null {
  if (!s) return null
  try {
    return parseDeclaration(s.definition)
  } catch {
    return null
  }
}

/**
 * Rebuilds the schema's unique index when the declaration changes what is unique (an attribute's
 * uniqueness, type or caseExact, or the resource type). Values more than one resource holds
 * already refuse the declaration, naming how many; nothing of it is written.
 */
async function reindex(tx: StoreTx, orgId: OrgId, previous: StoredSchema | null, d: DeclaredSchema): Promise<void> {
  const before = parsedOrNull(previous)
  if (uniqueSignature(before?.resourceType ?? '', before?.schema ?? null) === uniqueSignature(d.resourceType, d.schema)) return
  const dups = await rebuildUnique(tx, orgId, d.schema.id, d.resourceType, uniqueOf(d.schema))
  const first = dups[0]
  if (!first) return
  const at = `attributes[${d.schema.attributes.indexOf(first.attr.attr)}].uniqueness`
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`
  const others = dups.length > 1 ? `; also ${dups.slice(1).map((x) => `"${x.attr.attr.name}" (${plural(x.values, 'value', 'values')})`).join(', ')}` : ''
  const example = typeof first.example === 'string' ? quote(first.example) : JSON.stringify(first.example)
  throw new OrgError('ROSTER_ERR_SCHEMA',
    `${at}: "${first.attr.attr.name}" cannot be unique: ${plural(first.values, 'value is', 'values are')} held by more than one ${d.resourceType} ` +
    `of the organization (for example ${example})${others}; make the values unique first, then declare it again`, at)
}

function idsOf(schemas: readonly StoredSchema[]): string[] {
  return schemas.map((s) => String(s.definition.id))
}

/** Removes a declaration. The values users hold under it stay stored, unshown until it is declared again. */
export async function removeSchema(deps: Deps, idOrName: string, urn: string, actor: string): Promise<void> {
  const org = await findOrg(deps, idOrName)
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    await tx.unique.lockDeclarations(org.id)
    if (!(await tx.schemas.remove(org.id, urn))) throw new OrgError('ROSTER_ERR_SCHEMA_NOT_FOUND', `Organization "${org.name}" declares no schema ${urn}`, 'id')
    // Its uniqueness goes with it: the values stay with the users, no longer indexed.
    await tx.unique.dropSchema(org.id, urn)
    await record(deps, tx, org.id, now, { actor, action: SCHEMA_REMOVED, details: { schema: urn } }, await viewInTx(tx, org), ['schemas'], { schemas: idsOf(await tx.schemas.list(org.id)) })
  })
}

export async function listSchemas(deps: Deps, idOrName: string): Promise<{ orgId: OrgId; schemas: SchemaView[] }> {
  const org = await findOrg(deps, idOrName)
  const { schemas } = await deps.store.schemas.declared(org.id)
  return { orgId: org.id, schemas: schemas.map(view) }
}
