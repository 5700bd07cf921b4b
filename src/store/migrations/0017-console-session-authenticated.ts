// console_sessions.authenticated_at: when the session's account last proved its password (at
// sign-in, and again through POST /api/v1/console/session/confirm). Minting a SCIM token with a
// session needs a recent one (OWASP ASVS 4.0.3 3.7.1; docs/console.md, "Re-authentication").
// Existing sessions proved it when they were created.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function consoleSessionAuthenticated(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('console_sessions').addColumn('authenticated_at', 'text').execute()
      await sql`update console_sessions set authenticated_at = created_at`.execute(db)
    },
  }
}
