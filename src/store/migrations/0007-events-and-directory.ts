// The vendor's side of the directory (docs/events.md, docs/api.md):
// - events: the transactional outbox. Each change writes its events in its own transaction;
//   `position` is the feed's cursor. On SQLite the single writer commits in position order, so
//   each row takes the positions after the newest row, in the writing transaction. On PostgreSQL a sequence taken inside the
//   transaction is not commit order (a later number can commit first, and a reader that stored
//   it would never see the earlier one), so rows are written with a NULL position and stamped
//   after they commit by one stamper at a time (store/kysely/event-stamper.ts).
// - webhook endpoints, their pending deliveries (one lane per endpoint and resource) and every
//   delivery attempt.
// - api keys gain an organization (NULL: the operator's, every organization), scopes, an expiry
//   and their last use; the keys that exist become operator keys with every scope.
// - users and groups record who manages them and which identity provider created them, keep the
//   attributes nobody declared, and a group keeps its member count (maintained by every
//   membership change, so nobody pages 50,000 members to count them).
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function eventsAndDirectory(kind: DialectKind): Migration {
  const pg = kind === 'postgres'
  const idType = pg ? sql`text collate "C"` : sql`text`
  return {
    async up(db: Kysely<unknown>) {
      // A row holds `count` events of one change, at positions position … position + count - 1:
      // one event, or a membership change's events (one per member in `members`), so that a
      // 5,000-member PATCH writes one row, not 5,000 (events/rows.ts expands them).
      const columns = sql`org_id text not null,
          id text not null,
          count integer not null,
          type text not null,
          resource_type text not null,
          resource_id text not null,
          lane text not null,
          version integer not null,
          at text not null,
          payload text not null,
          members text`
      if (pg) {
        await sql`create table events (seq bigserial primary key, position bigint, ${columns})`.execute(db)
        await sql`create index events_unstamped on events (seq) where position is null`.execute(db)
      } else {
        await sql`create table events (position integer primary key, ${columns})`.execute(db)
      }
      await sql`create index events_org_position on events (org_id, position)`.execute(db)
      // PostgreSQL's stamper: the last position given out (positions never go back, whatever
      // retention deletes). SQLite's rows follow the newest row, which retention keeps.
      await sql`create table event_positions (id integer primary key, last bigint not null)`.execute(db)
      await sql`insert into event_positions (id, last) values (1, 0)`.execute(db)
      await sql`create index events_id on events (org_id, id)`.execute(db)

      await db.schema.createTable('webhook_endpoints')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        // JSON array of event types; empty: every type.
        .addColumn('event_types', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        // JSON array of { secret, expiresAt }: the newest first; older ones sign until they expire.
        .addColumn('secrets', 'text', (c) => c.notNull())
        // The last event position fanned out into deliveries.
        .addColumn('cursor', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('failing_since', 'text')
        .addColumn('disabled_reason', 'text')
        .addPrimaryKeyConstraint('webhook_endpoints_pk', ['org_id', 'id'])
        .execute()

      await db.schema.createTable('webhook_deliveries')
        .addColumn('id', idType, (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        // The event row (its first position) and which of its events are still to deliver: offset … until - 1.
        .addColumn('position', 'bigint', (c) => c.notNull())
        .addColumn('event_offset', 'integer', (c) => c.notNull())
        .addColumn('event_until', 'integer', (c) => c.notNull())
        .addColumn('lane', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('first_failure_ms', 'bigint')
        .addColumn('next_attempt_ms', 'bigint', (c) => c.notNull())
        .addColumn('lease_until_ms', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        // 1 for the one delivery of its lane that may be sent (the lane's oldest when it became
        // head): claiming reads heads only, so a lane of 50,000 waiting events costs one row a claim.
        .addColumn('is_head', 'integer', (c) => c.notNull())
        .execute()
      // The next delivery of a lane, when its head is done.
      await sql`create index webhook_deliveries_lane on webhook_deliveries (endpoint_id, lane, position)`.execute(db)
      await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_ms) where is_head = 1`.execute(db)

      await db.schema.createTable('webhook_attempts')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('id', idType, (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('excerpt', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['org_id', 'endpoint_id', 'id'])
        .execute()

      await db.schema.alterTable('api_keys').addColumn('org_id', 'text').execute()
      await db.schema.alterTable('api_keys').addColumn('scopes', 'text', (c) => c.notNull().defaultTo('*')).execute()
      await db.schema.alterTable('api_keys').addColumn('expires_at', 'text').execute()
      await db.schema.alterTable('api_keys').addColumn('last_used_at', 'text').execute()

      for (const table of ['users', 'groups']) {
        await db.schema.alterTable(table).addColumn('managed_by', 'text', (c) => c.notNull().defaultTo('scim')).execute()
        await db.schema.alterTable(table).addColumn('identity_provider', 'text').execute()
      }
      await db.schema.alterTable('users').addColumn('custom_attributes', 'text').execute()
      await db.schema.alterTable('groups').addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0)).execute()
      // Membership keys are 16-byte blobs on SQLite (migration 0005), text on PostgreSQL.
      const key = (e: ReturnType<typeof sql.ref>) => (pg ? e : sql`unhex(${e}, '-')`)
      await sql`update groups set member_count = (select count(*) from group_members m
        where m.org_id = ${key(sql.ref('groups.org_id'))} and m.group_id = ${key(sql.ref('groups.id'))})`.execute(db)
    },
  }
}
