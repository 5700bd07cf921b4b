// Organizations, tokens, users (with their email index), groups and membership rows.
// Released migrations are never edited; add a new numbered file instead.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function initial(kind: DialectKind): Migration {
  const json = kind === 'postgres' ? sql`jsonb` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('orgs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_folded', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createTable('org_domains')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('org_domains_pk', ['org_id', 'domain'])
        .execute()
      await db.schema.createTable('scim_tokens')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addPrimaryKeyConstraint('scim_tokens_pk', ['org_id', 'id'])
        .execute()
      await db.schema.createIndex('scim_tokens_hash').on('scim_tokens').column('hash').unique().execute()

      await db.schema.createTable('users')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('user_name_folded', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('password_hash', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('data', json, (c) => c.notNull())
        .addPrimaryKeyConstraint('users_pk', ['org_id', 'id'])
        .execute()
      await db.schema.createIndex('users_user_name').on('users').columns(['org_id', 'user_name_folded']).unique().execute()
      await db.schema.createIndex('users_external_id').on('users').columns(['org_id', 'external_id']).execute()
      await db.schema.createIndex('users_updated_at').on('users').columns(['org_id', 'updated_at']).execute()

      await db.schema.createTable('user_emails')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('value_folded', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text')
        .addColumn('is_primary', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_emails_pk', ['org_id', 'value_folded', 'user_id'])
        .execute()
      await db.schema.createIndex('user_emails_user').on('user_emails').columns(['org_id', 'user_id']).execute()

      await db.schema.createTable('groups')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('display_name_folded', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('data', json, (c) => c.notNull())
        .addPrimaryKeyConstraint('groups_pk', ['org_id', 'id'])
        .execute()
      await db.schema.createIndex('groups_display_name').on('groups').columns(['org_id', 'display_name_folded']).unique().execute()
      await db.schema.createIndex('groups_external_id').on('groups').columns(['org_id', 'external_id']).execute()

      await db.schema.createTable('group_members')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull())
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addColumn('member_type', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_members_pk', ['org_id', 'group_id', 'member_id'])
        .$call((t) => (kind === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
        .execute()
      // Covering (group_id included), so a user's groups are read from the index alone.
      await db.schema.createIndex('group_members_member').on('group_members').columns(['org_id', 'member_id', 'group_id']).execute()
    },
  }
}
