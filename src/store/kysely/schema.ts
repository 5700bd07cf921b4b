// Table types for Kysely. Every table carries org_id and every key starts with it (DESIGN.md,
// data model); the exceptions are scim_tokens.hash, looked up before the organization is known,
// and api_keys, which belong to the vendor rather than to an organization.

export interface OrgsTable { id: string; name: string; name_folded: string; created_at: string }
export interface OrgDomainsTable { org_id: string; domain: string }
export interface ScimTokensTable { org_id: string; id: string; hash: string; prefix: string; created_at: string; revoked_at: string | null }

export interface UsersTable {
  org_id: string
  id: string
  user_name: string
  user_name_folded: string
  external_id: string | null
  active: number
  display_name: string | null
  password_hash: string | null
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

/** Vendor-wide credentials for /api/v1 (not organization data, so no org_id). */
export interface ApiKeysTable { id: string; name: string; hash: string; prefix: string; created_at: string; revoked_at: string | null }

export interface Database {
  orgs: OrgsTable
  org_domains: OrgDomainsTable
  scim_tokens: ScimTokensTable
  users: UsersTable
  user_emails: UserEmailsTable
  groups: GroupsTable
  group_members: GroupMembersTable
  provisioning_log: ProvisioningLogTable
  api_keys: ApiKeysTable
}
