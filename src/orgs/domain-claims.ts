// Who may list an email domain when other organizations list it too (docs/api.md, organization
// settings). A verified claim (the organization published the DNS TXT record, orgs/domains.ts)
// belongs to that organization alone: nobody else may add the domain. Two unverified claims on
// one domain are allowed only when the operator permits shared domains (ROSTER_SHARED_DOMAINS=1);
// otherwise the second organization is told to prove the domain by DNS, which supersedes the
// other claims. A refusal never names the other organization: one customer learns nothing about
// another beyond "someone holds this domain".
import type { DomainClaim } from '../store/org-store.ts'

export const SHARED_DOMAINS_VARIABLE = 'ROSTER_SHARED_DOMAINS'

export interface ClaimRefusal {
  /** `verified`: another organization verified it; `listed`: another organization lists it unverified. */
  readonly reason: 'verified' | 'listed'
  readonly message: string
}

/**
 * Why `orgId` may not add `domain` given every organization's claims on it (its own included),
 * or null when it may. Superseded claims count for nobody.
 */
export function claimRefusal(orgId: string, domain: string, claims: readonly DomainClaim[], sharedDomains: boolean): ClaimRefusal | null {
  const others = claims.filter((c) => c.orgId !== orgId && c.state !== 'superseded')
  if (others.some((c) => c.state === 'verified')) {
    return {
      reason: 'verified',
      message: `${domain} is verified by another organization: a verified domain belongs to that organization alone. ` +
        'If this organization now controls the domain, ask the operator to remove it from the other organization, then verify it here.',
    }
  }
  if (others.length > 0 && !sharedDomains) {
    return {
      reason: 'listed',
      message: `${domain} is already listed by another organization, unverified. Verify the domain by DNS to claim it ` +
        `(roster org domain verify ORG ${domain}, or POST /api/v1/orgs/{org}/domains/${domain}/verify), ` +
        `or the operator can allow shared domains with ${SHARED_DOMAINS_VARIABLE}=1.`,
    }
  }
  return null
}

/**
 * What a verification in progress reads while another organization's earlier claim on `domain`
 * stands: a pending or failed claim of a domain someone else lists does not count for SCIM writes
 * until it is verified (two claims that count need the operator's ROSTER_SHARED_DOMAINS).
 */
export function contestedDetail(domain: string): string {
  return `Another organization listed ${domain} before this one: the domain counts for this organization's email-domain policy ` +
    'only once this verification succeeds, and until then a SCIM write with an address there is refused.'
}

/** What the other organizations' claims read after `domain` was verified on `at` (ISO 8601). */
export function supersededDetail(domain: string, at: string): string {
  return `Another organization verified ${domain} by DNS on ${at.slice(0, 10)}; this organization's claim no longer counts ` +
    'for its email-domain policy. Remove the domain here; if this organization controls it now, ask the operator to remove it from the other one, then verify it again.'
}
