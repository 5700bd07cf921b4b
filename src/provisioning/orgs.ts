// Organizations and their SCIM tokens. Refreshing revokes every earlier token in the same
// transaction that stores the new one (docs/architecture.md, parts and boundaries: orgs/).
import { NO_MAPPING } from '../orgs/settings.ts'
import { claimRefusal } from '../orgs/domain-claims.ts'
import { normalizeDomain, type ForceHint } from '../orgs/domains.ts'
import { generateToken } from '../orgs/tokens.ts'
import type { OrgId, OrgRow } from '../store/store.ts'
import { UniqueViolation } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { tokenRefreshed } from '../events/build.ts'

export type OrgErrorCode =
  | 'ROSTER_ERR_ORG_EXISTS' | 'ROSTER_ERR_ORG_NOT_FOUND' | 'ROSTER_ERR_ORG_NAME'
  | 'ROSTER_ERR_ORG_DOMAIN' | 'ROSTER_ERR_ORG_DOMAIN_CLAIMED' | 'ROSTER_ERR_ORG_SETTING'
  | 'ROSTER_ERR_SCHEMA' | 'ROSTER_ERR_SCHEMA_NOT_FOUND' | 'ROSTER_ERR_ORG_NOT_CONFIRMED'

export class OrgError extends Error {
  /** `field`: the input at fault (`domainAdd`, `sendInvitations` …), for the API's message. */
  constructor(readonly code: OrgErrorCode, message: string, readonly field?: string) {
    super(message)
    this.name = 'OrgError'
  }
}

/**
 * Domains as an admin typed them, normalized (orgs/domains.ts) and without repeats; `field` names
 * them in a refusal, and `hint` how the caller's surface accepts a consumer domain.
 */
export function normalizeDomains(inputs: readonly string[], field: string, force: boolean, hint: ForceHint = 'cli'): string[] {
  const out = new Set<string>()
  for (const input of inputs) {
    const r = normalizeDomain(input, { force, hint })
    if (!r.ok) throw new OrgError('ROSTER_ERR_ORG_DOMAIN', r.reason, field)
    out.add(r.domain)
  }
  return [...out]
}

/**
 * Creates an organization with its first SCIM token; the token is returned once, never stored.
 * Its domains are normalized and claimed under the same rules as `roster org set --domain-add`
 * (org-settings.ts): `force` accepts consumer domains, `sharedDomains` another organization's
 * unverified ones; `hint` says how the caller's surface accepts a consumer domain (the CLI's when absent).
 */
export async function createOrg(
  deps: Deps, name: string, domains: readonly string[], opts: { force?: boolean; sharedDomains?: boolean; hint?: ForceHint } = {},
): Promise<{ orgId: OrgId; token: string }> {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed.length > 200) throw new OrgError('ROSTER_ERR_ORG_NAME', 'An organization name must be 1 to 200 characters')
  const normalized = normalizeDomains(domains, 'domain', opts.force === true, opts.hint)
  const orgId = deps.newId() as OrgId
  const t = generateToken()
  const now = deps.now().toISOString()
  try {
    await deps.store.write(async (tx) => {
      for (const domain of normalized) {
        const refusal = claimRefusal(orgId, domain, await tx.orgs.claims(domain), opts.sharedDomains === true)
        if (refusal) throw new OrgError('ROSTER_ERR_ORG_DOMAIN_CLAIMED', refusal.message, 'domain')
      }
      await tx.createOrg({ id: orgId, name: trimmed, now, domains: normalized })
      await tx.replaceToken(orgId, { id: deps.newId(), hash: t.hash, prefix: t.prefix, lastFour: t.lastFour, now })
    })
  } catch (e) {
    if (e instanceof UniqueViolation) throw new OrgError('ROSTER_ERR_ORG_EXISTS', `An organization named "${trimmed}" already exists`)
    throw e
  }
  return { orgId, token: t.token }
}

/** Renames an organization (its id, tokens and tenant URL stay); recorded in its audit log. */
export async function renameOrg(deps: Deps, idOrName: string, newName: string, actor = 'cli'): Promise<{ orgId: OrgId; name: string; previous: string }> {
  const trimmed = newName.trim()
  if (trimmed === '' || trimmed.length > 200) throw new OrgError('ROSTER_ERR_ORG_NAME', 'An organization name must be 1 to 200 characters')
  const org = await findOrg(deps, idOrName)
  const at = deps.now().toISOString()
  try {
    await deps.store.write(async (tx) => {
      if (!(await tx.renameOrg(org.id, trimmed))) throw new OrgError('ROSTER_ERR_ORG_NOT_FOUND', `No organization "${idOrName}"`)
      await tx.orgs.insertAudit(org.id, { id: deps.newId(), at, actor, action: 'organization.renamed', details: { from: org.name, to: trimmed } })
    })
  } catch (e) {
    if (e instanceof UniqueViolation) throw new OrgError('ROSTER_ERR_ORG_EXISTS', `An organization named "${trimmed}" already exists`)
    throw e
  }
  return { orgId: org.id, name: trimmed, previous: org.name }
}

export async function findOrg(deps: Deps, idOrName: string): Promise<OrgRow> {
  const org = await deps.store.getOrg(idOrName)
  if (!org) throw new OrgError('ROSTER_ERR_ORG_NOT_FOUND', `No organization "${idOrName}"`)
  return org
}

/** Issues a new SCIM token and revokes the previous one in the same transaction. */
export async function refreshToken(deps: Deps, idOrName: string): Promise<{ orgId: OrgId; token: string }> {
  const org = await findOrg(deps, idOrName)
  const t = generateToken()
  const id = deps.newId()
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    // Held first: a second refresh waits, then revokes this one's token (each revokes the live
    // tokens it sees; two at once each left the other's new token live). A deletion in flight
    // commits first, so no token outlives its organization.
    await tx.orgs.hold(org.id)
    await tx.replaceToken(org.id, { id, hash: t.hash, prefix: t.prefix, lastFour: t.lastFour, now })
    await tx.insertEvents(org.id, [tokenRefreshed({ orgId: org.id, at: now, newId: deps.newId, mapping: NO_MAPPING }, { id, prefix: t.prefix })])
  })
  return { orgId: org.id, token: t.token }
}
