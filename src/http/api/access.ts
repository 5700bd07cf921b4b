// Who may do what in /api/v1: an API key belongs to one organization or to the operator (every
// organization) and holds scopes (provisioning/api-keys.ts). A key asking for another
// organization's data is told the organization does not exist (404, not 403): it learns nothing
// about what other organizations there are. A missing scope is a 403 that names the scope.
import type { FastifyRequest } from 'fastify'
import { roleHasScope } from '../../console/roles.ts'
import { hasScope, type Scope } from '../../provisioning/api-keys.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { fold } from '../../scim/fold.ts'
import type { ApiKeyRow, OrgRow } from '../../store/store.ts'
import { ApiError } from './errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that authenticated the request (set by the plugin's onRequest hook). */
    apiKey: ApiKeyRow | null
  }
}

export function notFound(what: string): ApiError {
  return new ApiError(404, 'not_found', `No such ${what}`)
}

/**
 * A console session's organization: one it has a role in (the operator: any), with a role that
 * holds `scope` (console/roles.ts). Another organization is a 404, as for an API key.
 */
async function authorizeSession(deps: Deps, request: FastifyRequest, orgParam: string, scopes: readonly Scope[]): Promise<OrgRow | null> {
  const s = request.consoleSession
  if (!s) return null
  const org = s.account.operator ? await deps.store.getOrg(orgParam) : await ownOrg(deps, [...s.roles.keys()], orgParam)
  const role = org === null ? undefined : s.account.operator ? 'operator' : s.roles.get(org.id)
  if (!org || role === undefined) throw notFound('organization')
  if (!scopes.some((scope) => roleHasScope(role, scope))) {
    throw new ApiError(403, 'insufficient_role', `Your role in this organization (${role}) cannot do this; ask an admin of the organization`)
  }
  return org
}

/** Who made a change, for the audit log: `console:<email>` or `api-key:<id>`. */
export function actorOf(request: FastifyRequest): string {
  if (request.consoleSession) return `console:${request.consoleSession.account.email}`
  return `api-key:${request.apiKey?.id ?? 'unknown'}`
}

/** The operator: a console operator, or an operator API key (every organization) holding org:admin. */
export function authorizeOperator(request: FastifyRequest): void {
  const s = request.consoleSession
  if (s) {
    if (!s.account.operator) throw new ApiError(403, 'insufficient_role', 'Only the operator can do this')
    return
  }
  const key = request.apiKey
  if (!key) throw new ApiError(401, 'unauthorized', 'Not authenticated')
  if (key.orgId !== null || !hasScope(key, 'org:admin')) throw new ApiError(403, 'insufficient_scope', 'This needs an operator API key (no organization) holding the scope "org:admin"')
}

/** The organization `orgParam` (id or name) names, if this request's key (or console session) may use it with `scope`. */
export async function authorize(deps: Deps, request: FastifyRequest, orgParam: string, scope: Scope): Promise<OrgRow> {
  const bySession = await authorizeSession(deps, request, orgParam, [scope])
  if (bySession) return bySession
  const key = request.apiKey
  if (!key) throw new ApiError(401, 'unauthorized', 'Not authenticated')
  if (!hasScope(key, scope)) throw new ApiError(403, 'insufficient_scope', `This API key does not hold the scope "${scope}"`)
  const org = key.orgId === null ? await deps.store.getOrg(orgParam) : await ownOrg(deps, [key.orgId], orgParam)
  if (!org) throw notFound('organization')
  return org
}

/**
 * The organization `orgParam` (id or name) names among `ids`, the ones the caller may use, read
 * only from those: another organization's row and domains are never read on its behalf (TEN-4,
 * test/reliability/statement-org.test.ts). A name is compared as the store compares names (fold).
 */
async function ownOrg(deps: Deps, ids: readonly string[], orgParam: string): Promise<OrgRow | null> {
  if (ids.includes(orgParam)) return deps.store.getOrg(orgParam)
  const folded = fold(orgParam)
  for (const id of ids) {
    const org = await deps.store.getOrg(id)
    if (org && fold(org.name) === folded) return org
  }
  return null
}

/** How often a key's "last used" is written: enough to tell a used key from an abandoned one. */
const TOUCH_EVERY_MS = 60_000

/** Records each key's use at most once a minute (a write per request would cost every request a commit). */
export function keyToucher(deps: Deps, onError: (err: unknown) => void): (key: ApiKeyRow) => void {
  const last = new Map<string, number>()
  return (key) => {
    const now = deps.now()
    const at = last.get(key.id)
    if (at !== undefined && now.getTime() - at < TOUCH_EVERY_MS) return
    if (last.size > 10_000) last.clear()
    last.set(key.id, now.getTime())
    deps.store.touchApiKey(key.id, now.toISOString()).catch(onError)
  }
}

/** Whether the request's session (by its role in `orgId`) or API key holds `scope`. */
export function holdsScope(request: FastifyRequest, orgId: OrgRow['id'], scope: Scope): boolean {
  const s = request.consoleSession
  if (s) {
    const role = s.account.operator ? 'operator' : s.roles.get(orgId)
    return role !== undefined && roleHasScope(role, scope)
  }
  return request.apiKey !== null && hasScope(request.apiKey, scope)
}

/** As authorize, for an endpoint that any one of `scopes` opens (a 403 names them all). */
export async function authorizeAny(deps: Deps, request: FastifyRequest, orgParam: string, scopes: readonly Scope[]): Promise<OrgRow> {
  const bySession = await authorizeSession(deps, request, orgParam, scopes)
  if (bySession) return bySession
  const key = request.apiKey
  if (!key) throw new ApiError(401, 'unauthorized', 'Not authenticated')
  const held = scopes.find((s) => hasScope(key, s))
  if (held === undefined) {
    throw new ApiError(403, 'insufficient_scope', `This API key holds none of the scopes this endpoint takes: ${scopes.map((s) => `"${s}"`).join(' or ')}`)
  }
  return authorize(deps, request, orgParam, held)
}
