// What an organization's policies need from the store (docs/policies.md): its settings and
// domains read inside a write (so a SCIM write is checked against the policy it commits with),
// changed with an audit entry, and every organization's claim on a domain.
import type { OrgSettings } from '../orgs/settings.ts'
import type { OrgId } from './store.ts'

/**
 * unverified: listed, never checked · pending: a TXT record asked for, not yet found · verified ·
 * failed: the last check did not find it · superseded: another organization verified it.
 */
export type DomainState = 'unverified' | 'pending' | 'verified' | 'failed' | 'superseded'

export interface DomainRecord {
  readonly domain: string
  readonly state: DomainState
  /** The TXT record's token, once verification was asked for. */
  readonly token: string | null
  /** Why the last check failed, or which organization superseded the claim. */
  readonly detail: string | null
  readonly checkedAt: string | null
  readonly verifiedAt: string | null
  readonly addedAt: string | null
}

export interface DomainClaim {
  readonly orgId: OrgId
  readonly domain: string
  readonly state: DomainState
}

/**
 * Why a listed domain does not count for the email-domain policy now: `superseded`, another
 * organization verified it; `contested`, its verification is pending or failed while another
 * organization's earlier claim on it stands (it counts once verified).
 */
export type WithheldReason = 'superseded' | 'contested'

/**
 * What a write is checked against: the settings, the domains that count, and the listed domains
 * that do not (docs/policies.md). An organization that lists domains keeps enforcing even when none
 * of them counts: another organization's claim never loosens its policy.
 */
export interface OrgPolicy {
  readonly settings: OrgSettings
  /** The domains a SCIM write's addresses may be in. */
  readonly domains: readonly string[]
  /** The listed domains that do not count, sorted, each with why. */
  readonly withheld: readonly { readonly domain: string; readonly reason: WithheldReason }[]
  /** The version of the organization's declared schemas (schema-store.ts), held until the transaction ends. */
  readonly schemaVersion: number
  /** The version of its settings, domains and declarations together: the last organization.updated event's. */
  readonly settingsVersion: number
}

export interface AuditRow {
  readonly id: string
  readonly at: string
  /** Who: `cli`, `api-key:<id>`, or `system` (a sweep, another organization's verification). */
  readonly actor: string
  readonly action: string
  readonly details: Record<string, unknown>
}

export interface DomainChange {
  readonly state: DomainState
  readonly token?: string | null
  readonly detail?: string | null
  readonly checkedAt?: string | null
  readonly verifiedAt?: string | null
}

/** An organization's policy inside a write transaction. */
export interface OrgPolicyTx {
  policy(orgId: OrgId): Promise<OrgPolicy>
  /**
   * Holds the organization's own state (settings, SCIM tokens) until the transaction ends: another
   * change of it waits (SCIM writes do not). A change that reads that state and writes from what
   * it read starts with it. OrgGone when the organization is not there (a deletion in flight
   * commits first).
   */
  hold(orgId: OrgId): Promise<void>
  /**
   * Holds the organization only against its deletion (PostgreSQL: FOR KEY SHARE) until the
   * transaction ends: a deletion in flight commits first, and this answers OrgGone. A write that
   * adds rows for an organization without reading its policy starts with it, so that none
   * outlives the organization; changes of the organization's own state do not wait for it.
   */
  holdShared(orgId: OrgId): Promise<void>
  domains(orgId: OrgId): Promise<readonly DomainRecord[]>
  saveSettings(orgId: OrgId, settings: OrgSettings): Promise<void>
  /** Moves the settings version on by one and returns it (an organization.updated event's version). */
  bumpSettingsVersion(orgId: OrgId): Promise<number>
  /** False when the organization lists the domain already. */
  addDomain(orgId: OrgId, domain: string, now: string): Promise<boolean>
  /** False when the organization does not list it. */
  removeDomain(orgId: OrgId, domain: string): Promise<boolean>
  updateDomain(orgId: OrgId, domain: string, change: DomainChange): Promise<void>
  /** Every organization's claim on the domain; the domain stays locked until the transaction ends. */
  claims(domain: string): Promise<readonly DomainClaim[]>
  insertAudit(orgId: OrgId, row: AuditRow): Promise<void>
}
