// The application's writes to the directory (docs/api.md, docs/policies.md): it creates users it
// manages itself and changes users' fields and metadata. The use cases (provisioning/app-users.ts)
// refuse the fields an identity provider owns on a SCIM-managed user with 409 scim_owned_fields.
import type { FastifyInstance } from 'fastify'
import { requestDeps } from '../deadline.ts'
import { apiUser } from '../../directory/shape.ts'
import { AppWriteError, createAppUser, updateAppUser } from '../../provisioning/app-users.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { etagOf } from '../../scim/etag.ts'
import { authorize } from './access.ts'
import { ApiError } from './errors.ts'
import { DIRECTORY } from './schemas.ts'

function apiErrorOf(e: unknown): unknown {
  return e instanceof AppWriteError ? new ApiError(e.status, e.code, e.message, {}, e.extra) : e
}

export function registerDirectoryWrites(app: FastifyInstance, appDeps: Deps): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.post<{ Params: { org: string } }>('/orgs/:org/users', { schema: DIRECTORY.createUser }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorize(deps, request, request.params.org, 'directory:write')
    const user = await createAppUser(deps, org.id, request.body).catch((e: unknown) => {
      throw apiErrorOf(e)
    })
    return reply.code(201).header('etag', etagOf(user.version)).header('location', `${request.url.split('?')[0]}/${user.id}`).send(apiUser(user, org.settings.attributeMapping))
  })

  app.patch<{ Params: { org: string; id: string } }>('/orgs/:org/users/:id', { schema: DIRECTORY.updateUser }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorize(deps, request, request.params.org, 'directory:write')
    const ifMatch = request.headers['if-match']
    const user = await updateAppUser(deps, org.id, request.params.id, request.body, typeof ifMatch === 'string' ? ifMatch : undefined).catch((e: unknown) => {
      throw apiErrorOf(e)
    })
    return reply.header('etag', etagOf(user.version)).send(apiUser(user, org.settings.attributeMapping))
  })
}
