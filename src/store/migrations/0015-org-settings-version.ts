// orgs.settings_version: moves on every change of the organization's settings, domains or
// declared schemas, each of which writes an `organization.updated` event carrying it, so that a
// consumer can tell a stale settings event from a newer one as it does users' and groups' (their
// `version`; docs/events.md). Existing organizations start at 0 (their settings as they are).
import { type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function orgSettingsVersion(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('orgs').addColumn('settings_version', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    },
  }
}
