// What the uniqueness of declared attributes needs from the store (docs/custom-attributes.md,
// migration 0012): each value a resource holds of a unique attribute is a row under a unique
// index, written in the transaction that writes the value. The database decides which of two
// concurrent writes of one value commits, whichever server runs them.
import type { OrgId, ResourceId } from './store.ts'

/** One value of a unique attribute: the schema's URN, the attribute's name, the comparison key (scim/schema/unique.ts). */
export interface UniqueEntry {
  readonly schema: string
  readonly name: string
  readonly key: string
}

/** A value another resource holds already. */
export interface UniqueConflict {
  readonly entry: UniqueEntry
  /** The holder's id; null when it let go of the value meanwhile. */
  readonly holder: ResourceId | null
}

export interface UniqueTx {
  /**
   * Holds the organization's declarations until the transaction ends: a write that checks the
   * declarations' version after this waits for the change, and sees it (PostgreSQL: the
   * organization's row FOR UPDATE, which the writes' FOR KEY SHARE waits on; SQLite's writer is alone).
   */
  lockDeclarations(orgId: OrgId): Promise<void>
  /**
   * Moves a resource's rows from the values `before` to `after`; the first value another resource
   * holds is returned (and none of `after` is left half-written: the caller fails the transaction).
   */
  change(orgId: OrgId, resourceId: ResourceId, before: readonly UniqueEntry[], after: readonly UniqueEntry[]): Promise<UniqueConflict | null>
  /** Deletes every row of one schema (its declaration was removed, or is about to be rebuilt). */
  dropSchema(orgId: OrgId, schema: string): Promise<void>
  /** Adds resources' rows while a schema is rebuilt; returns the values another resource held already. */
  index(orgId: OrgId, rows: readonly { readonly resourceId: ResourceId; readonly entry: UniqueEntry }[]): Promise<readonly UniqueEntry[]>
  /** A page of the organization's users or groups in id order, bodies as stored, for a rebuild. */
  scan(orgId: OrgId, type: 'User' | 'Group', after: ResourceId | null, limit: number): Promise<readonly { readonly id: ResourceId; readonly body: Record<string, unknown> }[]>
}
