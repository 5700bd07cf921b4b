// POST /Bulk (RFC 7644 §3.7): the route, and how one operation runs. Each operation is read like
// the single request it stands for (compat/ dialects, then the use case of users.ts or groups.ts)
// and gets its own provisioning-log row: written in its own transaction when it changes
// something, handed to the batched appender when it fails. The POST /Bulk request itself gets
// its row too (plugin.ts onResponse), with a note of how its operations went.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { runBulk, type OperationOutcome } from '../../provisioning/bulk.ts'
import type { LogAppender } from '../../provisioning/log-appender.ts'
import { changeRecord, type WriteLog } from '../../provisioning/log-change.ts'
import { logRow, type RequestInfo } from '../../provisioning/log-row.ts'
import { createGroup, deleteGroup, patchGroup, replaceGroup } from '../../provisioning/groups.ts'
import { createUser, deleteUser, patchUser, replaceUser } from '../../provisioning/users.ts'
import { parseBulkRequest, type BulkOperation } from '../../scim/bulk.ts'
import { addNote, knownIdentityProvider, type ScimTrace } from '../../scim/compat/detect.ts'
import { rewritePatch, rewriteResource } from '../../scim/compat/rewrite.ts'
import type { ScimError } from '../../scim/errors.ts'
import { etagOf } from '../../scim/etag.ts'
import { tagOf } from '../../scim/render.ts'
import { orgResources } from '../../provisioning/org-schemas.ts'
import type { GroupRow, OrgId, UserRow } from '../../store/store.ts'
import { toScimError } from './errors.ts'
import { sendJson } from './plugin.ts'

export interface BulkRouteOptions {
  readonly deps: Deps
  readonly baseUrlOf: (r: FastifyRequest) => string
  readonly appender: LogAppender
  readonly logIdAt: (ms: number) => string
  readonly orgOf: (r: FastifyRequest) => OrgId
}

/** One operation's provisioning-log row: in its transaction on success, else through the appender. */
function operationLog(request: FastifyRequest, orgId: OrgId, o: BulkRouteOptions, op: BulkOperation, trace: ScimTrace) {
  const atMs = o.deps.now().getTime()
  const start = performance.now()
  const info = (): RequestInfo => ({
    logId: o.logIdAt(atMs), atMs, requestId: request.id, identityProvider: trace.identityProvider,
    method: op.method, url: `/scim/v2${op.path}`, notes: [`operation ${op.index + 1} of a bulk request (${request.requestLog?.logId ?? request.id})`, ...trace.notes],
  })
  const type = op.endpoint === 'Groups' ? 'Group' as const : 'User' as const
  let logged = 0
  const log = (status: number): WriteLog => ({
    identityProvider: () => knownIdentityProvider(trace),
    note: (text) => addNote(trace, text),
    async record(tx, org, change) {
      const row = logRow(info(), { type: change.resourceType, id: change.resourceId }, { status, scimType: null, detail: null, durationUs: (performance.now() - start) * 1_000 }, changeRecord(change))
      await tx.insertLog(org, row)
      logged = status
    },
  })
  /** The row of an operation whose change did not write one (a failure, or a write without a log). */
  const finish = (id: string | null, status: number, error: ScimError | null): void => {
    if (error === null && logged === status) return
    const outcome = { status, scimType: error?.scimType ?? null, detail: error?.message ?? null, durationUs: (performance.now() - start) * 1_000 }
    o.appender.add(orgId, logRow(info(), { type, id }, outcome, null))
  }
  return { log, finish }
}

async function perform(request: FastifyRequest, o: BulkRouteOptions, orgId: OrgId, op: BulkOperation, id: string | null, data: unknown): Promise<OperationOutcome> {
  // Each operation is its own transaction under the request's deadline (http/deadline.ts): past it
  // the operations not yet committed are not run (those before it stay, as RFC 7644 §3.7 allows).
  const deps = request.deadline ? { ...o.deps, deadline: request.deadline } : o.deps
  const trace: ScimTrace = { identityProvider: request.scimTrace.identityProvider, notes: [] }
  const l = operationLog(request, orgId, o, op, trace)
  const users = op.endpoint === 'Users'
  // The organization's resource types, its declared extensions included (provisioning/org-schemas.ts).
  const resources = await orgResources(deps, orgId, request.schemaVersion ?? undefined)
  const rs = users ? resources.user : resources.group
  const ifMatch = op.version ?? undefined
  try {
    let row: UserRow | GroupRow | null = null
    let status: number
    switch (op.method) {
      case 'POST':
        status = 201
        row = users ? await createUser(deps, orgId, rewriteResource(rs, data, trace), l.log(status), rs) : await createGroup(deps, orgId, rewriteResource(rs, data, trace), l.log(status), rs)
        break
      case 'PUT':
        status = 200
        row = users
          ? await replaceUser(deps, orgId, id ?? '', rewriteResource(rs, data, trace), ifMatch, l.log(status), rs)
          : await replaceGroup(deps, orgId, id ?? '', rewriteResource(rs, data, trace), ifMatch, l.log(status), rs)
        break
      case 'PATCH':
        status = 200
        row = users
          ? await patchUser(deps, orgId, id ?? '', rewritePatch(rs, data, trace), ifMatch, l.log(status), rs)
          : await patchGroup(deps, orgId, id ?? '', rewritePatch(rs, data, trace), ifMatch, l.log(status), rs)
        break
      default:
        status = 204
        await (users ? deleteUser : deleteGroup)(deps, orgId, id ?? '', ifMatch, l.log(status))
    }
    l.finish(row?.id ?? id, status, null)
    if (row === null) return { ok: true, status, id, location: null, version: null }
    const refs = 'groups' in row ? row.groups : 'members' in row ? row.members : undefined
    return { ok: true, status, id: row.id, location: `${o.baseUrlOf(request)}/${op.endpoint ?? ''}/${row.id}`, version: etagOf(tagOf(rs, row.version, refs)) }
  } catch (e) {
    const { error, bug } = toScimError(e, request.id)
    if (bug) request.log.error({ err: e, reqId: request.id, operation: op.index }, 'unexpected error in a bulk operation')
    l.finish(id, error.status, error)
    return { ok: false, error }
  }
}

export function registerBulkRoute(app: FastifyInstance, o: BulkRouteOptions): void {
  app.post('/Bulk', async (request, reply) => {
    const orgId = o.orgOf(request)
    const req = parseBulkRequest(request.body, o.deps.limits.maxBulkOperations)
    const resources = await orgResources(o.deps, orgId, request.schemaVersion ?? undefined)
    const res = await runBulk(req, (op, id, data) => perform(request, o, orgId, op, id, data), resources)
    const failures = res.Operations.filter((r) => r.response).length
    addNote(request.scimTrace, `bulk: ${res.Operations.length} of ${req.operations.length} operations run, ${failures} failed`)
    return sendJson(reply, 200, res)
  })
}
