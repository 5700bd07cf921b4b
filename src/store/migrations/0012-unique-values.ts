// Uniqueness of declared attributes (docs/custom-attributes.md, scim/schema/unique.ts):
// - unique_values: one row per value a user or group holds of a declared attribute whose
//   uniqueness is `server` or `global`, under its comparison key (a SHA-256 of the key, so a long
//   value fits any index). The primary key is the constraint: two resources of an organization
//   holding one value of one attribute cannot both commit, whichever server writes them. Kept by
//   the write that changes the value, in its transaction; rebuilt for a schema when its declaration
//   changes what is unique.
// - (org_id, resource_id): a resource's rows, replaced by its writes and deleted with it.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function uniqueValues(kind: DialectKind): Migration {
  const text = kind === 'postgres' ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('unique_values')
        .addColumn('org_id', 'text', (c) => c.notNull())
        // The extension's URN and the attribute's name, lower-cased (RFC 7643 §2.1: case-insensitive).
        .addColumn('schema_id', text, (c) => c.notNull())
        .addColumn('attr', text, (c) => c.notNull())
        .addColumn('value_key', text, (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('unique_values_pk', ['org_id', 'schema_id', 'attr', 'value_key'])
        .execute()
      await db.schema.createIndex('unique_values_resource').on('unique_values').columns(['org_id', 'resource_id']).execute()
    },
  }
}
