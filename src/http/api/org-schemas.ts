// An organization's declared extension schemas through the API (docs/custom-attributes.md):
// GET and POST /orgs/{org}/schemas, DELETE /orgs/{org}/schemas/{urn}. Reading takes
// `directory:read`, changing `directory:write`; `org:admin` opens all of them. The declaration is
// checked before the organization is looked up; a change is recorded as made by `api-key:<key id>`.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requestDeps } from '../deadline.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { checkDeclaration, declareSchema, listSchemas, removeSchema } from '../../provisioning/org-schemas.ts'
import { OrgError } from '../../provisioning/orgs.ts'
import { authorizeAny, notFound } from './access.ts'
import { ApiError } from './errors.ts'
import { ORG_SCHEMAS } from './schemas.ts'

const READ = ['directory:read', 'org:admin'] as const
const WRITE = ['directory:write', 'org:admin'] as const

async function mapped<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (!(e instanceof OrgError)) throw e
    if (e.code === 'ROSTER_ERR_ORG_NOT_FOUND') throw notFound('organization')
    if (e.code === 'ROSTER_ERR_SCHEMA_NOT_FOUND') throw notFound('schema')
    throw new ApiError(400, 'invalid_parameter', e.message)
  }
}

function actorOf(request: FastifyRequest): string {
  return `api-key:${request.apiKey?.id ?? 'unknown'}`
}

interface OrgParams { org: string }

export function registerOrgSchemaRoutes(app: FastifyInstance, appDeps: Deps): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.get<{ Params: OrgParams }>('/orgs/:org/schemas', { schema: ORG_SCHEMAS.listOrgSchemas }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, READ)
    return { data: (await mapped(() => listSchemas(deps, org.id))).schemas }
  })

  app.post<{ Params: OrgParams; Body: unknown }>('/orgs/:org/schemas', { schema: ORG_SCHEMAS.declareOrgSchema }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    await mapped(() => checkDeclaration(request.body))
    const org = await authorizeAny(deps, request, request.params.org, WRITE)
    const r = await mapped(() => declareSchema(deps, org.id, request.body, actorOf(request)))
    return reply.code(r.changed && !r.replaced ? 201 : 200).send(r.schema)
  })

  app.delete<{ Params: OrgParams & { urn: string } }>('/orgs/:org/schemas/:urn', { schema: ORG_SCHEMAS.removeOrgSchema }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, WRITE)
    await mapped(() => removeSchema(deps, org.id, request.params.urn, actorOf(request)))
    return reply.code(204).send()
  })
}
