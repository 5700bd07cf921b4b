// Extension schemas an organization declares (docs/custom-attributes.md):
// - org_schemas: one row per declared schema URN, its declaration as JSON (scim/schema/declared.ts).
// - orgs.schema_version: moves on every change of the organization's declarations. The token
//   lookup of each SCIM request reads it with the organization (one statement), so a server
//   rebuilds an organization's schemas only when that number moved, and a change is seen by the
//   next request of every server at once.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function declaredSchemas(kind: DialectKind): Migration {
  const idType = kind === 'postgres' ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('orgs').addColumn('schema_version', 'integer', (c) => c.notNull().defaultTo(0)).execute()
      await db.schema.createTable('org_schemas')
        .addColumn('org_id', 'text', (c) => c.notNull())
        // The URN, lower-cased (RFC 7643 §2.1: schema URIs are case-insensitive); the declaration keeps its spelling.
        .addColumn('id_folded', idType, (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('org_schemas_pk', ['org_id', 'id_folded'])
        .execute()
    },
  }
}
