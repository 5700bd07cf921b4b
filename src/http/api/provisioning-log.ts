// GET /api/v1/orgs/{org}/provisioning-log?since=&status=&user=&identityProvider=&cursor=&limit= : one page of
// an organization's provisioning log, newest first, `{ items, nextCursor }`.
import type { FastifyInstance } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { parseLogQuery, readLogPage } from '../../provisioning/log-query.ts'
import { authorize } from './access.ts'
import { LOG } from './schemas.ts'

export function registerLogRoutes(app: FastifyInstance, deps: Deps): void {
  app.get<{ Params: { org: string }; Querystring: Record<string, unknown> }>('/orgs/:org/provisioning-log', { schema: LOG.listProvisioningLog }, async (request) => {
    // Filters first: a malformed filter is a 400 whether or not the organization exists.
    const q = request.query
    // The schema made `limit` a number; the log's filters (shared with `roster log`) read text.
    const limit = typeof q.limit === 'number' ? String(q.limit) : q.limit
    const query = parseLogQuery({ since: q.since, status: q.status, user: q.user, identityProvider: q.identityProvider, cursor: q.cursor, limit }, deps.now())
    const org = await authorize(deps, request, request.params.org, 'log:read')
    return readLogPage(deps.store, org.id, query)
  })
}
