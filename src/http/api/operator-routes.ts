// The operator's organizations (docs/console.md, "Operator"): GET /orgs, every organization by
// name a page at a time with its health; POST /orgs creates one. A console operator or an
// operator API key (no organization) holding org:admin.
import type { FastifyInstance } from 'fastify'
import { requestDeps } from '../deadline.ts'
import { orgHealth } from '../../console/scim-tokens.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { OrgError, createOrg } from '../../provisioning/orgs.ts'
import type { OrgRow } from '../../store/store.ts'
import { actorOf, authorizeOperator } from './access.ts'
import { OPERATOR } from './console-schemas.ts'
import { ApiError } from './errors.ts'

async function summary(deps: Deps, org: OrgRow) {
  return { id: org.id, name: org.name, createdAt: org.createdAt, domains: [...org.domains], ...await orgHealth(deps, org) }
}

export function registerOperatorRoutes(app: FastifyInstance, appDeps: Deps, opts: { sharedDomains: boolean }): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.get<{ Querystring: { limit?: number; cursor?: string } }>('/orgs', { schema: OPERATOR.listOrgs }, async (request) => {
    const deps = requestDeps(appDeps, request)
    authorizeOperator(request)
    const limit = request.query.limit ?? 50
    const after = request.query.cursor === undefined ? null : Buffer.from(request.query.cursor, 'base64url').toString()
    const orgs = [...await deps.store.listOrgs()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).filter((o) => after === null || o.name > after)
    const page = orgs.slice(0, limit)
    const data = []
    for (const org of page) data.push(await summary(deps, org))
    const last = page.at(-1)
    return { data, nextCursor: orgs.length > limit && last ? Buffer.from(last.name).toString('base64url') : null }
  })

  app.post<{ Body: { name: string; domains?: string[] } }>('/orgs', { schema: OPERATOR.createOrg }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    authorizeOperator(request)
    let created
    try {
      created = await createOrg(deps, request.body.name, request.body.domains ?? [], { sharedDomains: opts.sharedDomains })
    } catch (e) {
      if (!(e instanceof OrgError)) throw e
      const status = e.code === 'ROSTER_ERR_ORG_EXISTS' || e.code === 'ROSTER_ERR_ORG_DOMAIN_CLAIMED' ? 409 : 400
      throw new ApiError(status, status === 409 ? 'conflict' : 'invalid_parameter', e.field && !e.message.startsWith(e.field) ? `${e.field}: ${e.message}` : e.message)
    }
    // The organization starts without a token: its admin generates one in the console, where it is shown once.
    const now = deps.now().toISOString()
    for (const t of await deps.store.console.tokens(created.orgId)) {
      await deps.store.console.revokeToken(created.orgId, t.id, now, { id: deps.newId(), at: now, actor: actorOf(request), action: 'organization.created', details: { name: request.body.name } })
    }
    const org = await deps.store.getOrg(created.orgId)
    if (!org) throw new ApiError(404, 'not_found', 'No such organization')
    return reply.code(201).send(await summary(deps, org))
  })
}
