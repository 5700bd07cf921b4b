// An organization's settings and email domains as the operator (`roster org set|show|domain
// verify|audit`) and the vendor API (`/api/v1/orgs/{org}/settings`, docs/api.md) change and read
// them. Every input is checked before anything is written; a change is one transaction holding
// the settings, the domains, one audit entry (who, when, what) and one `organization.updated`
// event (docs/events.md), and a request that changes nothing writes nothing. A domain is claimed
// under orgs/domain-claims.ts; a DNS verification that succeeds supersedes the other
// organizations' claims, and each of them is told by an audit entry and an event of its own.
import { organizationUpdated } from '../events/build.ts'
import { claimRefusal, contestedDetail, supersededDetail } from '../orgs/domain-claims.ts'
import { checkDomainVerification, newVerificationToken, normalizeDomain, verificationRecord, type TxtResolver } from '../orgs/domains.ts'
import { NO_MAPPING, SettingsError, applySettingsChange, parseSettingsChange, type OrgSettings, type SettingsChange } from '../orgs/settings.ts'
import type { AuditRow, DomainRecord, DomainState } from '../store/org-store.ts'
import type { OrgId, OrgRow, StoreTx } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { OrgError, findOrg, normalizeDomains } from './orgs.ts'

export interface DomainStateView {
  readonly domain: string
  readonly state: DomainState
  readonly checkedAt: string | null
  readonly verifiedAt: string | null
  /** Why the last check failed, or that another organization verified the domain. */
  readonly detail: string | null
  /** The TXT record to publish, while the verification is pending or has failed. */
  readonly record?: { readonly name: string; readonly value: string }
}

/** What `roster org show --json`, `roster org set --json` and `GET /api/v1/orgs/{org}/settings` print. */
export interface OrgSettingsView extends OrgSettings {
  readonly orgId: OrgId
  readonly name: string
  /** Every domain the organization lists, sorted (superseded ones included: domainStates says which). */
  readonly domains: string[]
  readonly domainStates: DomainStateView[]
  /** Moves on every change of the settings, the domains or the declared schemas (each an organization.updated event of this version). */
  readonly version: number
}

export function domainStateView(r: DomainRecord): DomainStateView {
  const base = { domain: r.domain, state: r.state, checkedAt: r.checkedAt, verifiedAt: r.verifiedAt, detail: r.detail }
  return r.token !== null && (r.state === 'pending' || r.state === 'failed') ? { ...base, record: verificationRecord(r.domain, r.token) } : base
}

export function orgSettingsView(org: Pick<OrgRow, 'id' | 'name' | 'settings' | 'domainRecords' | 'settingsVersion'>): OrgSettingsView {
  const records = [...org.domainRecords].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0))
  const s = org.settings
  return {
    orgId: org.id,
    name: org.name,
    domains: records.map((r) => r.domain),
    domainStates: records.map(domainStateView),
    sendInvitations: s.sendInvitations,
    outsideDomains: s.outsideDomains,
    subdomains: s.subdomains,
    deprovision: s.deprovision,
    deleteAfterDays: s.deleteAfterDays,
    adoptExisting: s.adoptExisting,
    scimOwnedFields: [...s.scimOwnedFields],
    strictAttributes: s.strictAttributes,
    attributeMapping: { ...s.attributeMapping },
    version: org.settingsVersion,
  }
}

export interface SettingsUpdate {
  readonly domainAdd?: readonly string[]
  readonly domainRemove?: readonly string[]
  /** Accept consumer mailbox domains (gmail.com …) in domainAdd. */
  readonly force?: boolean
  /** The surface the change came through, for a refusal's words: `cli` (when absent) or `api`. */
  readonly surface?: 'cli' | 'api'
  /** Settings by name (orgs/settings.ts), as JSON gives them. */
  readonly settings?: Record<string, unknown>
}

export interface SettingsUpdateResult {
  readonly view: OrgSettingsView
  /** The names that changed (`domains` first, then settings); empty when nothing did. */
  readonly changes: readonly string[]
  readonly domainsAdded: readonly string[]
  readonly domainsRemoved: readonly string[]
}

export const SETTINGS_CHANGED = 'organization.settings_changed'
export const DOMAIN_VERIFICATION = 'organization.domain_verification'
export const DOMAIN_SUPERSEDED = 'organization.domain_superseded'

function parseSettings(input: Record<string, unknown>): SettingsChange {
  try {
    return parseSettingsChange(input)
  } catch (e) {
    if (e instanceof SettingsError) throw new OrgError('ROSTER_ERR_ORG_SETTING', e.message, e.field)
    throw e
  }
}

function pick(s: OrgSettings, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, s[k as keyof OrgSettings]]))
}

export async function viewInTx(tx: StoreTx, org: Pick<OrgRow, 'id' | 'name'>): Promise<OrgSettingsView> {
  const { settings, settingsVersion } = await tx.orgs.policy(org.id)
  const domainRecords = await tx.orgs.domains(org.id)
  return orgSettingsView({ id: org.id, name: org.name, settings, domainRecords, settingsVersion })
}

/**
 * The audit entry and the `organization.updated` event of one change, in the change's
 * transaction: the settings version moves on, and the event carries `view` at the new version,
 * which is returned.
 */
export async function record(
  deps: Deps, tx: StoreTx, orgId: OrgId, at: string, entry: { actor: string; action: string; details: Record<string, unknown> },
  view: OrgSettingsView, changes: readonly string[], extra: Record<string, unknown> = {},
): Promise<number> {
  const row: AuditRow = { id: deps.newId(), at, ...entry }
  await tx.orgs.insertAudit(orgId, row)
  const version = await tx.orgs.bumpSettingsVersion(orgId)
  await tx.insertEvents(orgId, [organizationUpdated({ orgId, at, newId: deps.newId, mapping: NO_MAPPING }, version, { ...view, ...extra, version, changes })])
  return version
}

/**
 * Checks every domain and setting of a change without reading anything: an OrgError names the
 * first field that is wrong (the API calls it before looking the organization up).
 */
export function checkSettingsUpdate(change: SettingsUpdate): { add: string[]; remove: string[]; parsed: SettingsChange } {
  const add = normalizeDomains(change.domainAdd ?? [], 'domainAdd', change.force === true, change.surface === 'api' ? 'api' : 'cli')
  // Removing takes any domain the organization lists, consumer domains included.
  const remove = normalizeDomains(change.domainRemove ?? [], 'domainRemove', true)
  const both = add.find((d) => remove.includes(d))
  if (both !== undefined) throw new OrgError('ROSTER_ERR_ORG_DOMAIN', `${both} is both added and removed; give it once`, 'domainRemove')
  return { add, remove, parsed: parseSettings(change.settings ?? {}) }
}

/**
 * Changes an organization's settings and domains. Every domain and setting is checked first (an
 * OrgError names the field; nothing is written); then, in one transaction, the claims of other
 * organizations (orgs/domain-claims.ts), the settings, the domains, one audit entry by `actor`
 * and one `organization.updated` event. Adding a listed domain or removing one that is not
 * listed changes nothing; a request that changes nothing writes nothing.
 */
export async function updateOrgSettings(
  deps: Deps, idOrName: string, change: SettingsUpdate, actor: string, opts: { sharedDomains: boolean },
): Promise<SettingsUpdateResult> {
  const { add, remove, parsed } = checkSettingsUpdate(change)
  const org = await findOrg(deps, idOrName)
  const now = deps.now().toISOString()

  return deps.store.write(async (tx) => {
    // Read, changed and written back whole: a concurrent change must wait, or one of the two is lost.
    await tx.orgs.hold(org.id)
    const { settings: current, settingsVersion } = await tx.orgs.policy(org.id)
    const before = await tx.orgs.domains(org.id)
    const listed = new Set(before.map((r) => r.domain))
    const toAdd = add.filter((d) => !listed.has(d))
    const toRemove = remove.filter((d) => listed.has(d))
    for (const domain of toAdd) {
      const refusal = claimRefusal(org.id, domain, await tx.orgs.claims(domain), opts.sharedDomains)
      if (refusal) throw new OrgError('ROSTER_ERR_ORG_DOMAIN_CLAIMED', refusal.message, 'domainAdd')
    }
    const { settings, changed } = applySettingsChange(current, parsed)
    const domainsChanged = toAdd.length > 0 || toRemove.length > 0
    if (!domainsChanged && changed.length === 0) {
      return { view: orgSettingsView({ id: org.id, name: org.name, settings: current, domainRecords: before, settingsVersion }), changes: [], domainsAdded: [], domainsRemoved: [] }
    }
    if (changed.length > 0) await tx.orgs.saveSettings(org.id, settings)
    for (const domain of toAdd) await tx.orgs.addDomain(org.id, domain, now)
    for (const domain of toRemove) await tx.orgs.removeDomain(org.id, domain)

    const view = await viewInTx(tx, org)
    const changes = [...(domainsChanged ? ['domains'] : []), ...changed]
    const beforeDomains = [...listed].sort()
    const details: Record<string, unknown> = {
      changes,
      before: { ...(domainsChanged ? { domains: beforeDomains } : {}), ...pick(current, changed) },
      after: { ...(domainsChanged ? { domains: view.domains } : {}), ...pick(settings, changed) },
      ...(toAdd.length > 0 ? { domainsAdded: toAdd } : {}),
      ...(toRemove.length > 0 ? { domainsRemoved: toRemove } : {}),
      ...(toAdd.length > 0 && change.force === true ? { force: true } : {}),
    }
    const version = await record(deps, tx, org.id, now, { actor, action: SETTINGS_CHANGED, details }, view, changes)
    return { view: { ...view, version }, changes, domainsAdded: toAdd, domainsRemoved: toRemove }
  })
}

/** The organization's settings as `orgSettingsView` shows them. */
export async function showOrgSettings(deps: Deps, idOrName: string): Promise<OrgSettingsView> {
  return orgSettingsView(await findOrg(deps, idOrName))
}

export interface VerificationOptions {
  /** How long the DNS lookup may take (checkDomainVerification's default when absent). */
  readonly timeoutMs?: number
  /** The surface the request came through, for a refusal's words: `cli` (when absent) or `api`. */
  readonly surface?: 'cli' | 'api'
}

/**
 * Proves an organization controls `domainInput` by a DNS TXT record (orgs/domains.ts).
 *
 * - The first call (no token yet, or a domain the organization does not list, which it then lists)
 *   makes a token and sets the state `pending`: the answer carries the TXT record to publish.
 * - Later calls look the record up through `resolver` (outside any transaction): `verified`
 *   (verifiedAt, checkedAt), or `failed` with the reason (checkedAt).
 * - A verified domain is answered as it is, without a lookup.
 *
 * A verification that succeeds supersedes every other organization's claim on the domain (state
 * `superseded`, detail saying another organization verified it and when); each of them gets an
 * audit entry by `system` and an `organization.updated` event. A domain another organization has
 * verified cannot be verified here (OrgError ROSTER_ERR_ORG_DOMAIN_CLAIMED).
 */
export async function verifyDomain(
  deps: Deps, idOrName: string, domainInput: string, resolver: TxtResolver, actor: string, opts: VerificationOptions = {},
): Promise<DomainStateView> {
  const org = await findOrg(deps, idOrName)
  const [domain] = normalizeDomains([domainInput], 'domain', true)
  if (domain === undefined) throw new OrgError('ROSTER_ERR_ORG_DOMAIN', 'Give the domain to verify', 'domain')
  const known = org.domainRecords.find((r) => r.domain === domain)
  if (known === undefined) {
    // Listing a domain by verifying it: a consumer domain must be listed with force first.
    const r = normalizeDomain(domainInput, { hint: opts.surface === 'api' ? 'apiVerify' : 'cliVerify' })
    if (!r.ok) throw new OrgError('ROSTER_ERR_ORG_DOMAIN', r.reason, 'domain')
  }
  if (known?.state === 'verified') return domainStateView(known)
  if (known === undefined || known.token === null) return startVerification(deps, org, domain, actor)

  const token = known.token
  const result = await checkDomainVerification(domain, token, resolver, { timeoutMs: opts.timeoutMs })
  const now = deps.now().toISOString()
  return deps.store.write(async (tx) => {
    const cur = (await tx.orgs.domains(org.id)).find((r) => r.domain === domain)
    if (!cur) throw new OrgError('ROSTER_ERR_ORG_DOMAIN', `${domain} is no longer one of the organization's domains`, 'domain')
    // Verified or restarted by a concurrent call meanwhile: its outcome stands.
    if (cur.token !== token || cur.state === 'verified') return domainStateView(cur)
    const claims = await tx.orgs.claims(domain)
    const refusal = claimRefusal(org.id, domain, claims, true)
    if (refusal) throw new OrgError('ROSTER_ERR_ORG_DOMAIN_CLAIMED', refusal.message, 'domain')

    if (result.state === 'failed') {
      // A failed claim of a domain another organization listed first keeps not counting: say so beside
      // the reason (the claim is pending now, and the policy withholds a pending one as a failed one).
      const detail = await contested(tx, org.id, domain) ? `${result.reason} ${contestedDetail(domain)}` : result.reason
      await tx.orgs.updateDomain(org.id, domain, { state: 'failed', detail, checkedAt: now })
      if (cur.state !== 'failed' || cur.detail !== detail) {
        const details = { domain, before: { state: cur.state, detail: cur.detail }, after: { state: 'failed', detail } }
        await record(deps, tx, org.id, now, { actor, action: DOMAIN_VERIFICATION, details }, await viewInTx(tx, org), ['domainStates'])
      }
      return domainStateView({ ...cur, state: 'failed', detail, checkedAt: now })
    }

    await tx.orgs.updateDomain(org.id, domain, { state: 'verified', detail: null, checkedAt: now, verifiedAt: now })
    const details = { domain, before: { state: cur.state, detail: cur.detail }, after: { state: 'verified', detail: null } }
    await record(deps, tx, org.id, now, { actor, action: DOMAIN_VERIFICATION, details }, await viewInTx(tx, org), ['domainStates'])
    for (const other of claims) {
      if (other.orgId === org.id || other.state === 'superseded') continue
      await supersede(deps, tx, other.orgId, domain, other.state, now)
    }
    return domainStateView({ ...cur, state: 'verified', detail: null, checkedAt: now, verifiedAt: now })
  })
}

/** Makes the token, lists the domain when it was not, and sets `pending`. */
async function startVerification(deps: Deps, org: OrgRow, domain: string, actor: string): Promise<DomainStateView> {
  const now = deps.now().toISOString()
  const token = newVerificationToken()
  return deps.store.write(async (tx) => {
    const cur = (await tx.orgs.domains(org.id)).find((r) => r.domain === domain)
    if (cur?.state === 'verified' || (cur !== undefined && cur.token !== null)) return domainStateView(cur) // started meanwhile
    const refusal = claimRefusal(org.id, domain, await tx.orgs.claims(domain), true)
    if (refusal) throw new OrgError('ROSTER_ERR_ORG_DOMAIN_CLAIMED', refusal.message, 'domain')
    if (cur === undefined) await tx.orgs.addDomain(org.id, domain, now)
    await tx.orgs.updateDomain(org.id, domain, { state: 'pending', token, detail: null, checkedAt: null, verifiedAt: null })
    // Another organization listed it first: admitted so that it can be proven, but it does not count until then.
    if (await contested(tx, org.id, domain)) await tx.orgs.updateDomain(org.id, domain, { state: 'pending', detail: contestedDetail(domain) })
    const after = (await tx.orgs.domains(org.id)).find((r) => r.domain === domain)
    if (!after) throw new Error(`domain ${domain} vanished inside its own transaction`)
    const details = {
      domain, ...(cur === undefined ? { listed: true } : {}),
      before: { state: cur?.state ?? null, detail: cur?.detail ?? null }, after: { state: 'pending', detail: after.detail },
    }
    const changes = cur === undefined ? ['domains', 'domainStates'] : ['domainStates']
    await record(deps, tx, org.id, now, { actor, action: DOMAIN_VERIFICATION, details }, await viewInTx(tx, org), changes)
    return domainStateView(after)
  })
}

/** Whether the organization's claim on `domain` is withheld from its policy because another organization's earlier claim stands. */
async function contested(tx: StoreTx, orgId: OrgId, domain: string): Promise<boolean> {
  return (await tx.orgs.policy(orgId)).withheld.some((w) => w.domain === domain && w.reason === 'contested')
}

/** Another organization verified `domain`: this organization's claim stops counting, and it is told. */
async function supersede(deps: Deps, tx: StoreTx, orgId: OrgId, domain: string, state: DomainState, now: string): Promise<void> {
  const detail = supersededDetail(domain, now)
  await tx.orgs.updateDomain(orgId, domain, { state: 'superseded', detail })
  // Its name, for the event's settings view: names never change, so a read beside the transaction is exact.
  const org = await deps.store.getOrg(orgId)
  const details = { domain, before: { state }, after: { state: 'superseded', detail } }
  await record(deps, tx, orgId, now, { actor: 'system', action: DOMAIN_SUPERSEDED, details }, await viewInTx(tx, { id: orgId, name: org?.name ?? '' }), ['domainStates'])
}

export interface AuditEntryView {
  readonly id: string
  readonly at: string
  readonly actor: string
  readonly action: string
  readonly details: Record<string, unknown>
}

/** The organization's audit entries, newest first, before the entry `before` when given; `last` is the page's last id. */
export async function readAudit(deps: Deps, orgId: OrgId, limit: number, before: string | null): Promise<{ data: AuditEntryView[]; last: string | null }> {
  const rows = await deps.store.listAudit(orgId, limit, before)
  const data = rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, details: r.details }))
  return { data, last: rows.length === limit ? (rows[rows.length - 1]?.id ?? null) : null }
}
