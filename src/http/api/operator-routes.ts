// The operator's organizations (docs/console.md, "Operator"): GET /orgs, every organization by
// name a page at a time with its health, paged and sorted in SQL (store/kysely/operator-orgs.ts),
// the failures of the last day counted per organization of the page on the log's failure index;
// POST /orgs creates one; DELETE /orgs/{org} deletes one with everything it holds
// (provisioning/org-delete.ts). A console operator or an operator API key (no organization)
// holding org:admin.
import type { FastifyInstance } from 'fastify'
import { requestDeps } from '../deadline.ts'
import { errorsLastDay, orgHealth } from '../../console/scim-tokens.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { OrgError, createOrg } from '../../provisioning/orgs.ts'
import { deleteOrg } from '../../provisioning/org-delete.ts'
import type { OrgPageRow } from '../../store/console-store.ts'
import type { OrgRow } from '../../store/store.ts'
import { actorOf, authorizeOperator, notFound } from './access.ts'
import { OPERATOR } from './console-schemas.ts'
import { ApiError } from './errors.ts'
import { invalidParameter } from './paging.ts'

async function summary(deps: Deps, org: OrgRow) {
  return { id: org.id, name: org.name, createdAt: org.createdAt, domains: [...org.domains], ...await orgHealth(deps, org) }
}

/** The page's cursor: the last folded name shown, base64url-encoded (opaque to clients). */
function decodeOrgCursor(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null
  const name = /^[A-Za-z0-9_-]{1,1200}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : ''
  // A folded name is text without control characters (PostgreSQL's text cannot hold NUL at all).
  // eslint-disable-next-line no-control-regex
  if (name === '' || name.includes('\uFFFD') || /[\u0000-\u001f\u007f]/.test(name) || Buffer.from(name, 'utf8').toString('base64url') !== raw) throw invalidParameter('cursor', 'is not a cursor this API returned')
  return name
}

async function pageSummary(deps: Deps, o: OrgPageRow) {
  return {
    id: o.id, name: o.name, createdAt: o.createdAt, domains: [...o.domains],
    firstRequestAt: o.firstAt, firstRequestBy: o.firstBy, lastRequestAt: o.lastAt, lastRequestBy: o.lastBy,
    errorsLastDay: await errorsLastDay(deps, o.id), liveTokens: o.liveTokens,
  }
}

export function registerOperatorRoutes(app: FastifyInstance, appDeps: Deps, opts: { sharedDomains: boolean }): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.get<{ Querystring: { limit?: number; cursor?: string } }>('/orgs', { schema: OPERATOR.listOrgs }, async (request) => {
    const deps = requestDeps(appDeps, request)
    authorizeOperator(request)
    const limit = request.query.limit ?? 50
    const after = decodeOrgCursor(request.query.cursor)
    // One more than the page: whether a next page exists, without a count.
    const rows = await deps.store.console.orgPage(after, limit + 1)
    const page = rows.slice(0, limit)
    const data = await Promise.all(page.map((o) => pageSummary(deps, o)))
    const last = page.at(-1)
    return { data, nextCursor: rows.length > limit && last ? Buffer.from(last.nameFolded, 'utf8').toString('base64url') : null }
  })

  app.post<{ Body: { name: string; domains?: string[] } }>('/orgs', { schema: OPERATOR.createOrg }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    authorizeOperator(request)
    let created
    try {
      created = await createOrg(deps, request.body.name, request.body.domains ?? [], { sharedDomains: opts.sharedDomains, hint: 'operatorApi' })
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

  app.delete<{ Params: { org: string } }>('/orgs/:org', { schema: OPERATOR.deleteOrg }, async (request) => {
    const deps = requestDeps(appDeps, request)
    authorizeOperator(request)
    try {
      return await deleteOrg(deps, request.params.org, actorOf(request))
    } catch (e) {
      if (e instanceof OrgError && e.code === 'ROSTER_ERR_ORG_NOT_FOUND') throw notFound('organization')
      throw e
    }
  })
}
