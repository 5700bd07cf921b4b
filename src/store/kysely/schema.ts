// Table types for Kysely. Every table carries org_id and every key starts with it (docs/architecture.md,
// data model); the exceptions are scim_tokens.hash, looked up before the organization is known,
// and api_keys, which belong to the vendor rather than to an organization.
import type { ColumnType } from 'kysely'

export interface OrgsTable {
  id: string; name: string; name_folded: string; created_at: string
  /** The organization's policy as JSON text (orgs/settings.ts; absent keys take the defaults). */
  settings: string
  /** Moves on every change of the organization's declared schemas (migration 0011). */
  schema_version: ColumnType<number, number | undefined, number>
  /** Moves on every organization.updated event (migration 0015). */
  settings_version: ColumnType<number, number | undefined, number>
}
export interface OrgDomainsTable {
  org_id: string; domain: string
  /** unverified | pending | verified | failed | superseded (orgs/domains.ts, migration 0008). */
  state: string; token: string | null; detail: string | null; checked_at: string | null; verified_at: string | null; added_at: string | null
}
export interface ScimTokensTable {
  org_id: string; id: string; hash: string; prefix: string; created_at: string; revoked_at: string | null
  /** Migration 0009 (the console's token metadata; the rest of its columns are read by console-store.ts). */
  last_four?: string | null
}

export interface UsersTable {
  org_id: string
  id: string
  user_name: string
  user_name_folded: string
  external_id: string | null
  active: number
  display_name: string | null
  password_hash: string | null
  managed_by: string
  identity_provider: string | null
  /** JSON text of the attributes no schema declares (kept for the application), or null. */
  custom_attributes: string | null
  /** 1 while the user has not accepted its invitation (the state `pending`). */
  pending: number
  /** JSON text of the application's own attributes (never SCIM's), or null. */
  metadata: string | null
  version: number
  created_at: string
  updated_at: string
  /** The SCIM body as JSON text (SQLite) or jsonb (PostgreSQL). */
  data: unknown
}

export interface UserEmailsTable { org_id: string; user_id: string; value_folded: string; type: string | null; is_primary: number }

export interface GroupsTable {
  org_id: string
  id: string
  display_name: string
  display_name_folded: string
  external_id: string | null
  managed_by: string
  identity_provider: string | null
  /** Maintained by every membership change. */
  member_count: number
  version: number
  created_at: string
  updated_at: string
  data: unknown
}

/** SQLite holds the ids as 16-byte keys, PostgreSQL as text (sql-dialect.ts idKey). */
export interface GroupMembersTable { org_id: string; group_id: string; member_id: string; member_type: string }

export interface ProvisioningLogTable {
  org_id: string
  id: string
  at: string
  request_id: string
  identity_provider: string
  method: string
  path: string
  resource_type: string | null
  resource_id: string | null
  status: number
  scim_type: string | null
  detail: string | null
  duration_us: number
  changes: string | null
  notes: string | null
}

/** Credentials for /api/v1: an organization's (org_id) or the operator's (org_id NULL, every organization). */
export interface ApiKeysTable {
  id: string
  name: string
  hash: string
  prefix: string
  created_at: string
  revoked_at: string | null
  org_id: string | null
  /** Space-separated scopes; `*` is every scope. */
  scopes: string
  expires_at: string | null
  last_used_at: string | null
}

/** The outbox (migration 0007): `position` is the feed's cursor (NULL on PostgreSQL until stamped). */
export interface EventsTable {
  position: number | string | null
  org_id: string
  id: string
  /** Events in the row (events/rows.ts): 1, or a membership change's members. */
  count: number
  type: string
  resource_type: string
  resource_id: string
  /** Deliveries of one lane (an endpoint's events of one resource) go out in order. */
  lane: string
  version: number
  at: string
  /** One event: its JSON text exactly as delivered; several: the shared `data` text, open (events/rows.ts). */
  payload: string
  /** Several: one event per member (store/member-list.ts). */
  members: string | null
}

export interface EventPositionsTable { id: number; last: number | string }

export interface WebhookEndpointsTable {
  org_id: string
  id: string
  url: string
  description: string
  event_types: string
  enabled: number
  secrets: string
  cursor: number | string
  created_at: string
  updated_at: string
  failing_since: string | null
  disabled_reason: string | null
}

export interface WebhookDeliveriesTable {
  id: string
  org_id: string
  endpoint_id: string
  position: number | string
  event_offset: number
  event_until: number
  lane: string
  attempts: number
  first_failure_ms: number | string | null
  next_attempt_ms: number | string
  lease_until_ms: number | string
  lease_owner: string | null
  is_head: number
}

export interface WebhookAttemptsTable {
  org_id: string
  endpoint_id: string
  id: string
  event_id: string
  event_type: string
  at: string
  status: number | null
  duration_ms: number
  outcome: string
  excerpt: string | null
  error: string | null
}

export interface DeletedUsersTable { org_id: string; id: string; deleted_at: string; purge_at: string; data: string }

export interface InvitationsTable {
  org_id: string; id: string; user_id: string; status: string; email: string | null; token_hash: string | null
  created_at: string; sent_at: string | null; expires_at: string | null; ended_at: string | null
  attempts: number; next_attempt_ms: number | string; lease_until_ms: number | string; last_error: string | null
  first_failure_ms: number | string | null
}

export interface AuditLogTable { org_id: string; id: string; at: string; actor: string; action: string; details: string }

export interface OrgSchemasTable { org_id: string; id_folded: string; resource_type: string; definition: string; created_at: string; updated_at: string }

export interface UniqueValuesTable { org_id: string; schema_id: string; attr: string; value_key: string; resource_id: string }

export interface WorkerCursorsTable { name: string; position: number | string }

export interface Database {
  orgs: OrgsTable
  org_schemas: OrgSchemasTable
  unique_values: UniqueValuesTable
  org_domains: OrgDomainsTable
  scim_tokens: ScimTokensTable
  users: UsersTable
  user_emails: UserEmailsTable
  groups: GroupsTable
  group_members: GroupMembersTable
  provisioning_log: ProvisioningLogTable
  api_keys: ApiKeysTable
  events: EventsTable
  event_positions: EventPositionsTable
  webhook_endpoints: WebhookEndpointsTable
  webhook_deliveries: WebhookDeliveriesTable
  webhook_attempts: WebhookAttemptsTable
  deleted_users: DeletedUsersTable
  invitations: InvitationsTable
  audit_log: AuditLogTable
  worker_cursors: WorkerCursorsTable
}
