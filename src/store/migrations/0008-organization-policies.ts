// An organization's policies (docs/policies.md):
// - orgs.settings: the policy as JSON (invitations, outside domains, deprovisioning, adoption,
//   SCIM-owned fields); absent keys take the defaults of orgs/settings.ts, so a new setting needs
//   no migration.
// - org_domains gain a verification state (unverified, pending, verified, failed, or superseded
//   when another organization verified the domain), the TXT token and when it was last checked;
//   the domain column is indexed on its own, for the claims of other organizations.
// - users gain `pending` (invited, not yet accepted: the state `pending`) and `metadata`, the
//   application's own attributes, which SCIM never reads or writes.
// - deleted_users keeps a user deleted under the policy "suspend, then delete after N days"
//   until the sweep removes it; SCIM no longer sees it (RFC 7644 §3.6: 404 after DELETE).
// - invitations: one a row, its token stored as a SHA-256 hash, with the mailer's lease and retries.
// - audit_log: who changed an organization's settings, when, and what.
// - worker_cursors: how far a background worker (the mailer) has read the event feed.
// - PostgreSQL: the stamped positions indexed on their own, for workers reading every
//   organization's events in feed order (SQLite's position is the rowid already).
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function organizationPolicies(kind: DialectKind): Migration {
  const pg = kind === 'postgres'
  const idType = pg ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('orgs').addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}')).execute()

      await db.schema.alterTable('org_domains').addColumn('state', 'text', (c) => c.notNull().defaultTo('unverified')).execute()
      await db.schema.alterTable('org_domains').addColumn('token', 'text').execute()
      await db.schema.alterTable('org_domains').addColumn('detail', 'text').execute()
      await db.schema.alterTable('org_domains').addColumn('checked_at', 'text').execute()
      await db.schema.alterTable('org_domains').addColumn('verified_at', 'text').execute()
      await db.schema.alterTable('org_domains').addColumn('added_at', 'text').execute()
      await sql`create index org_domains_domain on org_domains (domain)`.execute(db)

      await db.schema.alterTable('users').addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0)).execute()
      await db.schema.alterTable('users').addColumn('metadata', 'text').execute()

      await db.schema.createTable('deleted_users')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('deleted_at', 'text', (c) => c.notNull())
        .addColumn('purge_at', 'text', (c) => c.notNull())
        // The user as the directory API showed it when it was deleted (directory/shape.ts).
        .addColumn('data', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('deleted_users_pk', ['org_id', 'id'])
        .execute()
      await sql`create index deleted_users_purge on deleted_users (purge_at)`.execute(db)

      await db.schema.createTable('invitations')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        // queued → sent → accepted; or expired, revoked, failed (an address the mail server refuses).
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('token_hash', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_ms', 'bigint', (c) => c.notNull())
        .addColumn('lease_until_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addPrimaryKeyConstraint('invitations_pk', ['org_id', 'id'])
        .execute()
      await sql`create unique index invitations_token on invitations (token_hash) where token_hash is not null`.execute(db)
      await sql`create index invitations_user on invitations (org_id, user_id)`.execute(db)
      await sql`create index invitations_due on invitations (next_attempt_ms) where status = 'queued'`.execute(db)
      await sql`create index invitations_expiring on invitations (expires_at) where status = 'sent'`.execute(db)

      await db.schema.createTable('audit_log')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['org_id', 'id'])
        .execute()

      await db.schema.createTable('worker_cursors')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('position', 'bigint', (c) => c.notNull())
        .execute()
      // Users created before invitations existed were never invited: the mailer starts after them.
      await sql`insert into worker_cursors (name, position) select 'mailer', coalesce(max(position), 0) from events`.execute(db)

      if (pg) await sql`create index events_position on events (position) where position is not null`.execute(db)
    },
  }
}
