// An organization's SCIM tokens and its identity provider's first request (docs/console.md):
// GET, POST (refresh) /orgs/{org}/scim-token, POST /orgs/{org}/scim-token/rotate,
// DELETE /orgs/{org}/scim-token/{id}, GET /orgs/{org}/scim-status. Reading takes directory:read
// (a viewer), every change org:admin (an admin). Minting a token (refresh, rotate) with a console
// session also needs the session's password proved within the policy's window (OWASP ASVS 4.0.3
// 3.7.1: the token is full write authority over the organization's directory); an API key is not
// a session and is not asked. A change refused for want of org:admin is recorded (AUTH-5:
// refusal-audit.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requestDeps } from '../deadline.ts'
import { recentlyAuthenticated, type ConsolePolicy } from '../../console/accounts.ts'
import { orgHealth, refreshScimToken, revokeScimToken, rotateScimToken, tokenView } from '../../console/scim-tokens.ts'
import type { Deps } from '../../provisioning/deps.ts'
import type { OrgRow } from '../../store/store.ts'
import { actorOf, authorizeAny } from './access.ts'
import { consoleMapped } from './console-routes.ts'
import { SCIM_TOKENS } from './console-schemas.ts'
import { ApiError } from './errors.ts'
import { RefusalAudit } from './refusal-audit.ts'

const READ = ['directory:read', 'org:admin'] as const
const ADMIN = ['org:admin'] as const

interface OrgParams { org: string }

/**
 * Refuses a token's minting with a console session whose password was proved too long ago: 403
 * reauthentication_required, with an audit entry, before anything is written.
 */
async function requireRecentPassword(deps: Deps, policy: ConsolePolicy, request: FastifyRequest, org: OrgRow, operation: 'refresh' | 'rotate'): Promise<void> {
  const s = request.consoleSession
  if (!s || recentlyAuthenticated(deps, policy, s)) return
  const at = deps.now().toISOString()
  await deps.store.write((tx) => tx.orgs.insertAudit(org.id, {
    id: deps.newId(), at, actor: actorOf(request), action: 'token.reauthentication_required', details: { operation, authenticatedAt: s.session.authenticatedAt },
  }))
  throw new ApiError(403, 'reauthentication_required', 'Confirm your password to generate, refresh or rotate the SCIM token (POST /api/v1/console/session/confirm)')
}

export function registerScimTokenRoutes(app: FastifyInstance, appDeps: Deps, baseUrl: (request: FastifyRequest) => string, policy: ConsolePolicy): void {
  const refusals = new RefusalAudit(appDeps, (err) => app.log.warn({ err }, 'scim token: a refused attempt could not be recorded'))
  /**
   * The organization, if the caller may change its token (org:admin); a refusal (403, or 404 for
   * a caller of another organization) is recorded before it is answered (AUTH-5, refusal-audit.ts).
   */
  const admin = async (deps: Deps, request: FastifyRequest, orgParam: string, operation: 'refresh' | 'rotate' | 'revoke', more: Record<string, unknown> = {}) => {
    try {
      return await authorizeAny(deps, request, orgParam, ADMIN)
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) {
        await refusals.refused(request, orgParam, { action: `token.${operation}_refused`, details: { operation, ...more, status: e.status, error: e.code, reason: e.message } })
      }
      throw e
    }
  }
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.get<{ Params: OrgParams }>('/orgs/:org/scim-token', { schema: SCIM_TOKENS.getTokens }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, READ)
    return tokenView(deps, org.id)
  })

  app.post<{ Params: OrgParams }>('/orgs/:org/scim-token', { schema: SCIM_TOKENS.refreshToken }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await admin(deps, request, request.params.org, 'refresh')
    await requireRecentPassword(deps, policy, request, org, 'refresh')
    return reply.code(201).header('cache-control', 'no-store').send(await refreshScimToken(deps, org.id, actorOf(request)))
  })

  app.post<{ Params: OrgParams }>('/orgs/:org/scim-token/rotate', { schema: SCIM_TOKENS.rotateToken }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await admin(deps, request, request.params.org, 'rotate')
    await requireRecentPassword(deps, policy, request, org, 'rotate')
    return reply.code(201).header('cache-control', 'no-store').send(await consoleMapped(() => rotateScimToken(deps, org.id, actorOf(request))))
  })

  app.delete<{ Params: OrgParams & { id: string } }>('/orgs/:org/scim-token/:id', { schema: SCIM_TOKENS.revokeToken }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await admin(deps, request, request.params.org, 'revoke', { tokenId: request.params.id })
    await consoleMapped(() => revokeScimToken(deps, org.id, request.params.id, actorOf(request)))
    return reply.code(204).send()
  })

  app.get<{ Params: OrgParams }>('/orgs/:org/scim-status', { schema: SCIM_TOKENS.getStatus }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, READ)
    return { tenantUrl: `${baseUrl(request)}/scim/v2`, ...await orgHealth(deps, org) }
  })
}
