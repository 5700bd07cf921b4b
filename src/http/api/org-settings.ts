// An organization's settings, domains and audit log through the API (docs/api.md):
// GET and PATCH /orgs/{org}/settings, POST /orgs/{org}/domains/{domain}/verify,
// GET /orgs/{org}/audit. Reading takes `directory:read` (the audit log `log:read`), changing
// `directory:write`; `org:admin` opens all of them. The body is checked before the organization
// is looked up, as every parameter of this API is; a change is recorded as made by
// `api-key:<key id>`.
import type { FastifyInstance } from 'fastify'
import { requestDeps } from '../deadline.ts'
import type { TxtResolver } from '../../orgs/domains.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { checkSettingsUpdate, orgSettingsView, readAudit, updateOrgSettings, verifyDomain } from '../../provisioning/org-settings.ts'
import { OrgError, normalizeDomains } from '../../provisioning/orgs.ts'
import { actorOf, authorizeAny, notFound } from './access.ts'
import { ApiError } from './errors.ts'
import { decodeCursor, encodeCursor, parseLimit } from './paging.ts'
import { ORG_SETTINGS } from './schemas.ts'

export interface OrgSettingsRouteOptions {
  /** Two organizations may list one domain unverified (ROSTER_SHARED_DOMAINS=1). */
  readonly sharedDomains: boolean
  /** Where domain verification looks TXT records up (tests replace it). */
  readonly txtResolver: TxtResolver
}

const READ = ['directory:read', 'org:admin'] as const
const WRITE = ['directory:write', 'org:admin'] as const
const AUDIT = ['log:read', 'org:admin'] as const

/** The body's keys that are not settings. */
const CHANGE_KEYS = new Set(['domainAdd', 'domainRemove', 'force'])

/** An OrgError as the API's error: 400 naming the field, 409 for another organization's claim, 404. */
function apiErrorOf(e: unknown): unknown {
  if (!(e instanceof OrgError)) return e
  switch (e.code) {
    case 'ROSTER_ERR_ORG_NOT_FOUND':
      return notFound('organization')
    case 'ROSTER_ERR_ORG_DOMAIN_CLAIMED':
      return new ApiError(409, 'domain_claimed', e.message)
    default: {
      const field = e.field
      return new ApiError(400, 'invalid_parameter', field === undefined || e.message.startsWith(`${field} `) ? e.message : `${field}: ${e.message}`)
    }
  }
}

async function mapped<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw apiErrorOf(e)
  }
}

interface OrgParams { org: string }

export function registerOrgSettingsRoutes(app: FastifyInstance, appDeps: Deps, opts: OrgSettingsRouteOptions): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  app.get<{ Params: OrgParams }>('/orgs/:org/settings', { schema: ORG_SETTINGS.getOrgSettings }, async (request) => {
    const deps = requestDeps(appDeps, request)
    return orgSettingsView(await authorizeAny(deps, request, request.params.org, READ))
  })

  app.patch<{ Params: OrgParams; Body: Record<string, unknown> }>('/orgs/:org/settings', { schema: ORG_SETTINGS.updateOrgSettings }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const body = request.body ?? {}
    const settings = Object.fromEntries(Object.entries(body).filter(([k]) => !CHANGE_KEYS.has(k)))
    const change = {
      domainAdd: body.domainAdd as string[] | undefined, domainRemove: body.domainRemove as string[] | undefined, force: body.force === true, settings, surface: 'api' as const,
    }
    await mapped(() => checkSettingsUpdate(change))
    const org = await authorizeAny(deps, request, request.params.org, WRITE)
    const r = await mapped(() => updateOrgSettings(deps, org.id, change, actorOf(request), { sharedDomains: opts.sharedDomains }))
    return r.view
  })

  app.post<{ Params: OrgParams & { domain: string } }>('/orgs/:org/domains/:domain/verify', { schema: ORG_SETTINGS.verifyOrgDomain }, async (request) => {
    const deps = requestDeps(appDeps, request)
    await mapped(() => normalizeDomains([request.params.domain], 'domain', true))
    const org = await authorizeAny(deps, request, request.params.org, WRITE)
    return mapped(() => verifyDomain(deps, org.id, request.params.domain, opts.txtResolver, actorOf(request), { surface: 'api' }))
  })

  app.get<{ Params: OrgParams; Querystring: Record<string, unknown> }>('/orgs/:org/audit', { schema: ORG_SETTINGS.listOrgAudit }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const before = decodeCursor(request.query.cursor)
    const limit = parseLimit(request.query.limit)
    const org = await authorizeAny(deps, request, request.params.org, AUDIT)
    const page = await readAudit(deps, org.id, limit, before)
    return { data: page.data, nextCursor: page.last === null ? null : encodeCursor(page.last) }
  })
}
