// Rebuilding one declared schema's rows of the unique index (docs/custom-attributes.md,
// "Uniqueness"), in the transaction that declares the schema: provisioning/unique.ts says why a
// write running at the same time cannot slip a duplicate past it.
import { uniqueValuesOf, type UniqueAttribute, type UniqueValue } from '../scim/schema/unique.ts'
import type { OrgId, ResourceId, StoreTx } from '../store/store.ts'

/** Values of one attribute held by more than one resource, found while a schema's index is rebuilt. */
export interface Duplicates {
  readonly attr: UniqueAttribute
  /** How many values are held by more than one resource. */
  readonly values: number
  readonly example: unknown
}

/** Rows read per page while a schema's index is rebuilt. */
const REBUILD_PAGE = 500

/**
 * Rebuilds one schema's rows of the unique index from every user (or group) of the organization,
 * inside the declaration's transaction (which holds the declarations: UniqueTx.lockDeclarations).
 * Returns, per attribute, the values more than one resource holds: the caller refuses the declaration.
 */
export async function rebuildUnique(tx: StoreTx, orgId: OrgId, schema: string, type: 'User' | 'Group', attrs: readonly UniqueAttribute[]): Promise<Duplicates[]> {
  await tx.unique.dropSchema(orgId, schema)
  if (attrs.length === 0) return []
  const dup = new Map<string, { attr: UniqueAttribute; keys: Set<string>; example: unknown }>()
  let after: ResourceId | null = null
  for (;;) {
    const page = await tx.unique.scan(orgId, type, after, REBUILD_PAGE)
    const rows = page.flatMap((r) => uniqueValuesOf(attrs, r.body).map((entry) => ({ resourceId: r.id, entry })))
    for (const e of rows.length === 0 ? [] : await tx.unique.index(orgId, rows)) {
      const attr = attrs.find((a) => a.attr.name === e.name) as UniqueAttribute
      const d = dup.get(e.name) ?? { attr, keys: new Set<string>(), example: (e as UniqueValue).value }
      d.keys.add(e.key)
      dup.set(e.name, d)
    }
    if (page.length < REBUILD_PAGE) break
    after = (page[page.length - 1] as { id: ResourceId }).id
  }
  return [...dup.values()].map((d) => ({ attr: d.attr, values: d.keys.size, example: d.example }))
}
