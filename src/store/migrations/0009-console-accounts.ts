// The admin console (docs/console.md):
// - console_accounts: a person who signs in to the console, by email (unique once folded), with
//   an scrypt password hash (null until the invitation or setup link is used) and whether the
//   account is the vendor's operator (every organization).
// - console_roles: an account's role in one organization, `admin` or `viewer`.
// - console_sessions: a signed-in browser, by the SHA-256 hash of its cookie's secret, with its
//   CSRF token, the last time it was seen (idle expiry) and its absolute expiry.
// - console_sign_in: failed sign-ins per folded email (whether an account exists or not), and
//   until when the email is locked out.
// - console_links: one-time links sent by email or printed (operator setup, invitation,
//   password reset), by the SHA-256 hash of their token.
// - scim_tokens gain the last four characters of the token, when and by which identity provider
//   it was first and last used, and `rotating`: a token issued beside a live one, which revokes
//   the older ones at its first use.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function consoleAccounts(kind: DialectKind): Migration {
  const idType = kind === 'postgres' ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('console_accounts')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_folded', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('operator', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()

      await db.schema.createTable('console_roles')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('account_id', idType, (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('console_roles_pk', ['org_id', 'account_id'])
        .execute()
      await sql`create index console_roles_account on console_roles (account_id)`.execute(db)

      await db.schema.createTable('console_sessions')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('account_id', idType, (c) => c.notNull())
        .addColumn('csrf', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute()
      await sql`create index console_sessions_account on console_sessions (account_id)`.execute(db)

      await db.schema.createTable('console_sign_in')
        .addColumn('email_folded', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('first_failure_at', 'text', (c) => c.notNull())
        .addColumn('locked_until', 'text')
        .execute()

      await db.schema.createTable('console_links')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        // setup (the first operator), invite (an admin or viewer of an organization), reset (a password).
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .execute()
      await sql`create index console_links_account on console_links (account_id)`.execute(db)

      await db.schema.alterTable('scim_tokens').addColumn('last_four', 'text').execute()
      await db.schema.alterTable('scim_tokens').addColumn('first_used_at', 'text').execute()
      await db.schema.alterTable('scim_tokens').addColumn('first_used_by', 'text').execute()
      await db.schema.alterTable('scim_tokens').addColumn('last_used_at', 'text').execute()
      await db.schema.alterTable('scim_tokens').addColumn('last_used_by', 'text').execute()
      await db.schema.alterTable('scim_tokens').addColumn('rotating', 'integer', (c) => c.notNull().defaultTo(0)).execute()
    },
  }
}
