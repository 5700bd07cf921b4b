// The organization's policies applied to a SCIM write (docs/policies.md), inside the write's
// transaction so that the write commits under the policy it was checked against.
import { domainAllowed, emailDomainOf, outsideDomains } from '../orgs/domains.ts'
import { ScimError } from '../scim/errors.ts'
import { fold } from '../scim/fold.ts'
import type { OrgPolicy } from '../store/org-store.ts'

type Body = Record<string, unknown>

function emailsOf(body: Body | null): { value: string; primary?: boolean; type?: string | null }[] {
  if (!body || !Array.isArray(body.emails)) return []
  return body.emails.flatMap((e: unknown) => {
    if (typeof e !== 'object' || e === null) return []
    const { value, primary, type } = e as Record<string, unknown>
    return typeof value === 'string' ? [{ value, primary: primary === true, type: typeof type === 'string' ? type : null }] : []
  })
}

/**
 * With domains listed and `outsideDomains: refuse`, a userName that is an email address, the
 * primary email and any work email must be inside the domains that count. Only values the write
 * introduces in those roles are checked: a user stored before the domains were listed can still be
 * changed in other ways (its outside addresses re-sent by a PUT included), but not moved to another
 * outside address, nor have its personal email made work or primary. The refusal is 400
 * invalidValue (RFC 7644 §3.12) with a detail the identity provider shows its admin in its
 * provisioning logs.
 *
 * A listed domain that does not count (superseded: another organization verified it; contested:
 * its verification is not complete while another organization's earlier claim stands) is refused
 * like any other outside domain, its detail saying why; an organization whose every domain is
 * withheld refuses every address until its admin changes the settings. Another organization's
 * action never loosens this organization's policy.
 */
export function checkDomains(policy: OrgPolicy, after: Body, before: Body | null): void {
  if (policy.settings.outsideDomains === 'allow' || (policy.domains.length === 0 && policy.withheld.length === 0)) return
  const userName = typeof after.userName === 'string' ? after.userName : null
  const offending = outsideDomains({ userName, emails: emailsOf(after) }, policy.domains, policy.settings.subdomains)
  if (offending.length === 0) return
  // What the user already held outside in a checked role (its userName, its primary or a work
  // email) it may keep, compared folded as outsideDomains compares (`ＡDA@x.org` is `ada@x.org`).
  // A value it held unchecked (a personal email) is not kept: made work or primary, it is checked.
  const held = new Set(before === null ? [] : outsideDomains(
    { userName: typeof before.userName === 'string' ? before.userName : null, emails: emailsOf(before) }, policy.domains, policy.settings.subdomains,
  ).map((v) => fold(v.trim())))
  const fresh = offending.filter((v) => !held.has(fold(v.trim())))
  if (fresh.length === 0) return
  const scope = policy.settings.subdomains ? ' (and their subdomains)' : ''
  const values = `${fresh.map((v) => `"${v}"`).join(', ')} ${fresh.length === 1 ? 'is' : 'are'}`
  // With no domain that counts, every withheld one is why; otherwise those the refused values are in.
  const why = withheldNotes(policy, policy.domains.length === 0 ? null : fresh)
  if (policy.domains.length === 0) {
    throw new ScimError(400, 'invalidValue',
      `${values} refused: none of the organization's email domains counts now. ${why}` +
      'The organization admin must change its domains before users can be provisioned.')
  }
  throw new ScimError(400, 'invalidValue',
    `${values} outside the organization's email domains${scope}: ${policy.domains.join(', ')}. ${why}` +
    'Provision users with an address in one of these domains, or ask the organization admin to add the domain.')
}

/** A sentence for each withheld domain (each one `values` is in, when given), saying why it does not count. */
function withheldNotes(policy: OrgPolicy, values: readonly string[] | null): string {
  const domains = values?.flatMap((v) => emailDomainOf(v) ?? []) ?? null
  const hit = policy.withheld.filter((w) => domains === null || domains.some((d) => domainAllowed(d, [w.domain], policy.settings.subdomains)))
  return hit.map((w) => w.reason === 'superseded'
    ? `${w.domain} was verified by another organization, so it no longer counts for this one. `
    : `${w.domain} counts for this organization once its DNS verification succeeds: another organization listed it first. `).join('')
}

/**
 * Attributes no schema of the organization declares (RFC 7644 §3.3 lets a service provider
 * ignore them; Roster keeps a user's for the application under `customAttributes`, and the
 * validation notes each in the log row): a 400 invalidSyntax naming them when the organization
 * is strict (docs/custom-attributes.md).
 */
export function checkUndeclared(policy: OrgPolicy, unknown: Readonly<Record<string, unknown>> | null): void {
  if (unknown === null || !policy.settings.strictAttributes) return
  const names = Object.keys(unknown)
  if (names.length === 0) return
  const list = names.map((n) => JSON.stringify(n)).join(', ')
  throw new ScimError(400, 'invalidSyntax', `No schema of this organization declares ${names.length === 1 ? 'the attribute' : 'the attributes'} ${list}; ` +
    'declare them in an extension schema, or send only declared attributes (the organization refuses undeclared ones: strictAttributes)')
}
