// What an organization's declared extension schemas need from the store
// (docs/custom-attributes.md, migration 0011): the declarations read by any request, and
// changed inside a write transaction together with the version that tells every server to
// rebuild the organization's schemas.
import type { OrgId } from './store.ts'

export interface StoredSchema {
  /** The declaration as scim/schema/declared.ts writes it out (its URN is `definition.id`). */
  readonly definition: Record<string, unknown>
  readonly resourceType: 'User' | 'Group'
  readonly createdAt: string
  readonly updatedAt: string
}

export interface DeclaredSchemas {
  /** Moves on every change of the organization's declarations. */
  readonly version: number
  readonly schemas: readonly StoredSchema[]
}

export interface SchemaStore {
  /** The organization's declarations and their version, read together. */
  declared(orgId: OrgId): Promise<DeclaredSchemas>
}

export interface SchemaTx {
  /** The organization's declarations, in this transaction. */
  list(orgId: OrgId): Promise<readonly StoredSchema[]>
  /** Adds or replaces the declaration of one URN; true when it replaced one. */
  put(orgId: OrgId, urn: string, resourceType: 'User' | 'Group', definition: Record<string, unknown>, now: string): Promise<boolean>
  /** False when the organization declares no such URN. */
  remove(orgId: OrgId, urn: string): Promise<boolean>
}
