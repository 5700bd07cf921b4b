// Invitations through the API (docs/api.md, "Invitations"): the application accepts one with
// the token from the email's link (scope `directory:write` of the invitation's organization, or
// an operator key), reads a user's newest invitation (`directory:read`), sends a new one or
// revokes it (`directory:write`). The emails themselves are the mailer's (mail/mailer.ts).
import type { FastifyInstance } from 'fastify'
import { requestDeps } from '../deadline.ts'
import { apiUser } from '../../directory/shape.ts'
import { hasScope } from '../../provisioning/api-keys.ts'
import type { Deps } from '../../provisioning/deps.ts'
import {
  InvitationError, acceptInvitation, getInvitation, publicInvitation, resendInvitation, revokeInvitation,
} from '../../provisioning/invitations.ts'
import { authorize } from './access.ts'
import { ApiError } from './errors.ts'
import { INVITATIONS } from './schemas.ts'

/** An InvitationError as the API's error. */
function apiErrorOf(e: unknown): unknown {
  if (!(e instanceof InvitationError)) return e
  switch (e.code) {
    case 'invitation_not_found': return new ApiError(404, 'invitation_not_found', e.message)
    case 'invitation_expired': return new ApiError(410, 'invitation_expired', e.message)
    case 'user_not_pending': return new ApiError(409, 'user_not_pending', e.message)
    case 'user_suspended': return new ApiError(409, 'user_suspended', e.message)
    case 'user_not_found':
    case 'no_invitation': return new ApiError(404, 'not_found', e.message)
  }
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw apiErrorOf(e)
  }
}

interface UserParams { org: string; id: string }

export function registerInvitationRoutes(app: FastifyInstance, appDeps: Deps): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.post<{ Body: { token: string } }>('/invitations/accept', { schema: INVITATIONS.acceptInvitation }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const key = request.apiKey
    if (!key) throw new ApiError(401, 'unauthorized', 'Not authenticated')
    if (!hasScope(key, 'directory:write')) throw new ApiError(403, 'insufficient_scope', 'This API key does not hold the scope "directory:write"')
    const { orgId, user } = await mapped(() => acceptInvitation(deps, request.body.token, key.orgId))
    return apiUser(user, (await deps.store.getOrg(orgId))?.settings.attributeMapping)
  })

  app.get<{ Params: UserParams }>('/orgs/:org/users/:id/invitation', { schema: INVITATIONS.getUserInvitation }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    return publicInvitation(await mapped(() => getInvitation(deps, org.id, request.params.id)))
  })

  app.post<{ Params: UserParams }>('/orgs/:org/users/:id/invitation', { schema: INVITATIONS.resendUserInvitation }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorize(deps, request, request.params.org, 'directory:write')
    return reply.code(202).send(publicInvitation(await mapped(() => resendInvitation(deps, org.id, request.params.id))))
  })

  app.delete<{ Params: UserParams }>('/orgs/:org/users/:id/invitation', { schema: INVITATIONS.revokeUserInvitation }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorize(deps, request, request.params.org, 'directory:write')
    await mapped(() => revokeInvitation(deps, org.id, request.params.id))
    return reply.code(204).send()
  })
}
