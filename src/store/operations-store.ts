// What the operator's commands need from the store beyond one organization's data
// (docs/operations.md): deleting an organization whole, and what a running server recorded
// about itself for the commands that run beside it (migration 0013).
import type { OrgId } from './store.ts'

/** How many rows of each kind an organization's deletion removed. */
export interface OrgDeletionCounts {
  readonly users: number
  readonly groups: number
  readonly memberships: number
  readonly domains: number
  readonly schemas: number
  readonly scimTokens: number
  readonly apiKeys: number
  readonly webhooks: number
  readonly invitations: number
  readonly events: number
  /** Provisioning log rows of the main database (SQLite's log file is pruned after the commit: Store.pruneLog). */
  readonly logRows: number
  readonly consoleMembers: number
  /** Console accounts that had a role in this organization only (not the operator's), with their sessions and links. */
  readonly consoleAccounts: number
}

export interface OrgDeletionAudit {
  readonly id: string
  readonly at: string
  readonly actor: string
  readonly details: Record<string, unknown>
}

export interface OrgRemovalStore {
  /**
   * Deletes the organization and everything it holds in one transaction: its SCIM tokens and API
   * keys (a request with one is refused at once), users, groups, memberships, domains, settings,
   * declared schemas, webhooks with their deliveries, invitations, events, provisioning log rows
   * of the main table, console roles, and its audit entries, which give way to one
   * `organization.deleted` entry (`audit`, whose details get the counts). Null when it does not exist.
   */
  deleteOrg(orgId: OrgId, audit: OrgDeletionAudit): Promise<OrgDeletionCounts | null>
}

export interface ServerInfoStore {
  /** Records a server's value under `name` (the last server to start wins). */
  record(name: string, value: string, at: string): Promise<void>
  /** What a server recorded under `name`, and when; null when none did. */
  read(name: string): Promise<{ readonly value: string; readonly at: string } | null>
}
