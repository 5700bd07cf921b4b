// `roster admin create --email E [--org ORG] --role admin|viewer|operator`: a console account
// (created without a password when there is none), its role, and a one-time link to choose the
// password (docs/console.md). The link is printed, not emailed: the operator hands it over.
import type { Config } from '../../config.ts'
import { ConsoleError, DEFAULT_POLICY, createLink, ensureAccount } from '../../console/accounts.ts'
import { linkUrl } from '../../console/mail.ts'
import { isRole } from '../../console/roles.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { findOrg } from '../../provisioning/orgs.ts'
import { tenantBase } from '../../ops/public-url.ts'

export class AdminUsage extends Error {}

export const ADMIN_USAGE = 'usage: roster admin create --email E --org ORG --role admin|viewer   |   roster admin create --email E --role operator'

export interface AdminArgs {
  readonly sub: string | undefined
  readonly email: string | undefined
  readonly org: string | undefined
  readonly role: string | undefined
}

export async function adminCommand(deps: Deps, config: Config, a: AdminArgs, print: (value: unknown, text: string) => void): Promise<number> {
  if (a.sub !== 'create' || !a.email || !a.role) throw new AdminUsage(ADMIN_USAGE)
  const operator = a.role === 'operator'
  if (!operator && !isRole(a.role)) throw new AdminUsage(`--role must be admin, viewer or operator\n${ADMIN_USAGE}`)
  if (!operator && !a.org) throw new AdminUsage(`--org is needed for the role ${a.role}\n${ADMIN_USAGE}`)
  const org = a.org === undefined ? null : await findOrg(deps, a.org)
  let account
  try {
    account = (await ensureAccount(deps, a.email, operator)).account
  } catch (e) {
    if (e instanceof ConsoleError) throw new AdminUsage(e.message)
    throw e
  }
  const now = deps.now().toISOString()
  if (org && isRole(a.role)) {
    await deps.store.console.setRole(org.id, account.id, a.role, now, { id: deps.newId(), at: now, actor: 'cli', action: 'member.invited', details: { email: account.email, role: a.role } })
  }
  const link = account.passwordHash === null ? await createLink(deps, DEFAULT_POLICY, 'invite', account.id) : null
  // The console the running server serves (ops/public-url.ts), as org create's tenant URL.
  const url = link ? linkUrl((await tenantBase(deps.store, config)).url, link.token) : null
  print({ accountId: account.id, email: account.email, role: a.role, orgId: org?.id ?? null, link: url, linkExpiresAt: link?.expiresAt.toISOString() ?? null }, [
    `Account:  ${account.email} (${account.id})`,
    `Role:     ${a.role}${org ? ` of ${org.name}` : ' (every organization)'}`,
    url ? `\nOpen this one-time link to choose the password (valid until ${link?.expiresAt.toISOString()}):\n${url}` : '\nThe account has a password already: it can sign in at /console.',
  ].join('\n'))
  return 0
}
