// Organizations and their SCIM tokens. Refreshing revokes every earlier token in the same
// transaction that stores the new one (docs/architecture.md, parts and boundaries: orgs/).
import { generateToken } from '../orgs/tokens.ts'
import type { OrgId, OrgRow } from '../store/store.ts'
import { UniqueViolation } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { tokenRefreshed } from '../events/build.ts'

export class OrgError extends Error {
  constructor(readonly code: 'ROSTER_ERR_ORG_EXISTS' | 'ROSTER_ERR_ORG_NOT_FOUND' | 'ROSTER_ERR_ORG_NAME', message: string) {
    super(message)
    this.name = 'OrgError'
  }
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i

/** Creates an organization with its first SCIM token; the token is returned once, never stored. */
export async function createOrg(deps: Deps, name: string, domains: readonly string[]): Promise<{ orgId: OrgId; token: string }> {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed.length > 200) throw new OrgError('ROSTER_ERR_ORG_NAME', 'An organization name must be 1 to 200 characters')
  for (const d of domains) if (!DOMAIN.test(d)) throw new OrgError('ROSTER_ERR_ORG_NAME', `"${d}" is not a domain name`)
  const orgId = deps.newId() as OrgId
  const t = generateToken()
  const now = deps.now().toISOString()
  try {
    await deps.store.write(async (tx) => {
      await tx.createOrg({ id: orgId, name: trimmed, now, domains })
      await tx.replaceToken(orgId, { id: deps.newId(), hash: t.hash, prefix: t.prefix, now })
    })
  } catch (e) {
    if (e instanceof UniqueViolation) throw new OrgError('ROSTER_ERR_ORG_EXISTS', `An organization named "${trimmed}" already exists`)
    throw e
  }
  return { orgId, token: t.token }
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
    await tx.replaceToken(org.id, { id, hash: t.hash, prefix: t.prefix, now })
    await tx.insertEvents(org.id, [tokenRefreshed({ orgId: org.id, at: now, newId: deps.newId }, { id, prefix: t.prefix })])
  })
  return { orgId: org.id, token: t.token }
}
