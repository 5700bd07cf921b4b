// /Users and /Groups routes (RFC 7644 §3.2–§3.6) and the root /.search (§3.4.3).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ownFields, wantsMembership } from '../../provisioning/common.ts'
import type { Deps } from '../../provisioning/deps.ts'
import type { WriteLog } from '../../provisioning/log-change.ts'
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup } from '../../provisioning/groups.ts'
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser } from '../../provisioning/users.ts'
import { addNote } from '../../scim/compat/detect.ts'
import { rewriteListQuery, rewritePatch, rewriteResource, rewriteSearchRequest } from '../../scim/compat/rewrite.ts'
import { ScimError } from '../../scim/errors.ts'
import { etagOf } from '../../scim/etag.ts'
import { restrictToResource } from '../../scim/filter/restrict.ts'
import { parseListParams, parseSearchRequest, type ListParams } from '../../scim/list-query.ts'
import { parseAttributeList, project } from '../../scim/projection.ts'
import { renderResource, renderResourceJson, tagOf } from '../../scim/render.ts'
import type { ResourceSchema } from '../../scim/schema/registry.ts'
import { orgResources } from '../../provisioning/org-schemas.ts'
import type { GroupRow, ListResult, OrgId, UserRow } from '../../store/store.ts'
import { notModified, sendJson } from './plugin.ts'
import { sendGroupStream, streamsMembers } from './group-stream.ts'
import { listHead, sendListWithMembers, type ListPage } from './list-stream.ts'
import { writeLog } from './request-log.ts'

type Row = UserRow | GroupRow
type Query = Record<string, unknown>

interface Projection {
  readonly attributes: string[] | null
  readonly excludedAttributes: string[] | null
}

function projectionOf(query: Query): Projection {
  const get = (name: string): string | undefined => {
    for (const [k, v] of Object.entries(query)) if (k.toLowerCase() === name.toLowerCase() && typeof v === 'string') return v
    return undefined
  }
  return { attributes: parseAttributeList(get('attributes')), excludedAttributes: parseAttributeList(get('excludedAttributes')) }
}

function refsOf(row: Row) {
  return 'groups' in row ? row.groups : 'members' in row ? row.members : undefined
}

/** The representation's tag: its ETag and meta.version (render.ts tagOf). */
function tag(rs: ResourceSchema, row: Row): string {
  return tagOf(rs, row.version, refsOf(row))
}

/** The resource's JSON text, projected when asked (RFC 7644 §3.4.2.5). */
function render(rs: ResourceSchema, row: Row, baseUrl: string, p: Projection): string {
  const refs = refsOf(row)
  if (!p.attributes && !p.excludedAttributes) return renderResourceJson(rs, row, baseUrl, refs)
  return JSON.stringify(project(rs, renderResource(rs, row, baseUrl, refs), p))
}

/** Records a lenient reading in the request's provisioning-log row. */
function noteOn(request: FastifyRequest): (text: string) => void {
  return (text) => addNote(request.scimTrace, text)
}

function orgOf(request: FastifyRequest): OrgId {
  if (request.orgId === null) throw new ScimError(401, null, 'Not authenticated')
  return request.orgId
}

function ifMatchOf(request: FastifyRequest): string | undefined {
  const h = request.headers['if-match']
  return typeof h === 'string' ? h : undefined
}

function requireBody(request: FastifyRequest): unknown {
  if (request.body === undefined || request.body === null) throw new ScimError(400, 'invalidSyntax', 'A JSON body is required')
  return request.body
}

/** A ListResponse (RFC 7644 §3.4.2) around resources already serialized. */
function listJson(total: number, startIndex: number, resources: readonly string[]): string {
  return `${listHead(total, startIndex, resources.length)}${resources.join(',')}]}`
}

function listResponse(rs: ResourceSchema, result: ListResult<Row>, p: ListParams, baseUrl: string): string {
  return listJson(result.total, p.startIndex, result.rows.map((r) => render(rs, r, baseUrl, p)))
}

interface Ops {
  readonly kind: 'User' | 'Group'
  create(deps: Deps, orgId: OrgId, body: unknown, log: WriteLog, rs: ResourceSchema): Promise<Row>
  get(deps: Deps, orgId: OrgId, id: string, withMembership: boolean): Promise<Row>
  list(deps: Deps, orgId: OrgId, p: ListParams, withMembership: boolean, rs: ResourceSchema): Promise<ListResult<Row>>
  replace(deps: Deps, orgId: OrgId, id: string, body: unknown, ifMatch: string | undefined, log: WriteLog, rs: ResourceSchema): Promise<Row>
  patch(deps: Deps, orgId: OrgId, id: string, body: unknown, ifMatch: string | undefined, log: WriteLog, rs: ResourceSchema): Promise<Row>
  remove(deps: Deps, orgId: OrgId, id: string, ifMatch: string | undefined, log: WriteLog): Promise<void>
  /** Answer a PATCH with 204 unless attributes were asked for (RFC 7644 §3.5.2 allows either). */
  readonly patchNoContent: boolean
}

const USERS: Ops = { kind: 'User', create: createUser, get: getUser, list: listUsers, replace: replaceUser, patch: patchUser, remove: deleteUser, patchNoContent: false }
// A group's answer would carry every member: a membership PATCH answers 204 so that its cost
// stays proportional to the change, not to the group (Entra ID and Okta accept 204).
const GROUPS: Ops = { kind: 'Group', create: createGroup, get: getGroup, list: listGroups, replace: replaceGroup, patch: patchGroup, remove: deleteGroup, patchNoContent: true }

/** The request's resource type with its organization's declared extensions (provisioning/org-schemas.ts). */
async function resourceOf(deps: Deps, request: FastifyRequest, kind: 'User' | 'Group'): Promise<ResourceSchema> {
  const r = await orgResources(deps, orgOf(request), request.schemaVersion ?? undefined)
  return kind === 'User' ? r.user : r.group
}

/**
 * `row`, what a write left, with the membership `read` found after it: that read may find a later
 * write's body, which this write's answer must not show (ownFields).
 */
function withMembershipOf(row: Row, read: Row): Row {
  const own = ownFields(row)
  if ('members' in read && read.members) return { ...own, members: read.members }
  if ('groups' in read && read.groups) return { ...own, groups: read.groups }
  return own
}

export function registerResourceRoutes(app: FastifyInstance, deps: Deps, baseUrlOf: (r: FastifyRequest) => string): void {
  // The use cases see the request's deadline (http/deadline.ts).
  const depsOf = (request: FastifyRequest): Deps => (request.deadline ? { ...deps, deadline: request.deadline } : deps)
  for (const ops of [USERS, GROUPS]) {
    const base = ops.kind === 'User' ? '/Users' : '/Groups'
    const rsOf = (request: FastifyRequest) => resourceOf(deps, request, ops.kind)

    const sendOne = async (request: FastifyRequest, reply: FastifyReply, rs: ResourceSchema, status: number, row: Row, p: Projection) => {
      // After a write the membership is read back only when it is shown: a created user has no
      // groups, but a group created with members answers with them (RFC 7644 §3.3: the resource
      // as created), each with its display name.
      let full = row
      const created = status === 201 && !(rs.kind === 'Group' && (row.directory as { memberCount?: number } | null)?.memberCount)
      if (status === 201) void reply.header('location', `${baseUrlOf(request)}${base}/${row.id}`)
      if (ops.kind === 'Group' && !('members' in row) && wantsMembership(rs, p) && !created) {
        // A large group's answer is streamed like its GET (group-stream.ts).
        const group = await deps.store.directoryGroup(orgOf(request), row.id).catch(() => null)
        if (group && streamsMembers(deps, group)) return sendGroupStream(deps, reply, rs, orgOf(request), group, baseUrlOf(request), tag(rs, group), p, status)
      }
      if (!('groups' in row) && !('members' in row) && wantsMembership(rs, p) && !created) {
        // The write has committed: if reading the membership back fails, answer with the row
        // (without it) rather than an error that would make the identity provider retry it. A
        // read that finds a later write's version keeps only the membership: the answer is the
        // resource as this write left it (RFC 7644 §3.5.1), never another client's body and ETag.
        full = await ops.get(depsOf(request), orgOf(request), row.id, true).then((read) => (read.version === row.version ? read : withMembershipOf(row, read)), () => row)
      }
      return sendJson(reply, status, render(rs, full, baseUrlOf(request), p), tag(rs, full))
    }

    const list = async (request: FastifyRequest, reply: FastifyReply, p: ListParams) => {
      const rs = await rsOf(request)
      if (ops.kind === 'Group' && wantsMembership(rs, p)) {
        // The rows without members (with their member counts); the members a page at a time.
        return sendListWithMembers(depsOf(request), reply, orgOf(request), baseUrlOf(request), p, async (): Promise<ListPage> => {
          const { total, rows } = await ops.list(depsOf(request), orgOf(request), p, false, rs)
          return { total, startIndex: p.startIndex, rendered: [], groups: { rs, rows: rows as GroupRow[] } }
        })
      }
      const result = await ops.list(depsOf(request), orgOf(request), p, wantsMembership(rs, p), rs)
      return sendJson(reply, 200, listResponse(rs, result, p, baseUrlOf(request)))
    }

    // Identity-provider dialects are read into standard SCIM (scim/compat/) before the use case
    // validates strictly; each lenient reading is noted on request.scimTrace for the log.
    app.get<{ Querystring: Query }>(base, async (request, reply) => list(request, reply, parseListParams(rewriteListQuery(request.query, request.scimTrace), deps.limits.maxResults, noteOn(request))))
    app.post(`${base}/.search`, async (request, reply) => list(request, reply, parseSearchRequest(rewriteSearchRequest(requireBody(request), request.scimTrace), deps.limits.maxResults, noteOn(request))))

    app.post<{ Querystring: Query }>(base, async (request, reply) => {
      const rs = await rsOf(request)
      const row = await ops.create(depsOf(request), orgOf(request), rewriteResource(rs, requireBody(request), request.scimTrace), writeLog(request, 201), rs)
      return sendOne(request, reply, rs, 201, row, projectionOf(request.query))
    })

    app.get<{ Params: { id: string }; Querystring: Query }>(`${base}/:id`, async (request, reply) => {
      const p = projectionOf(request.query)
      const rs = await rsOf(request)
      const membership = wantsMembership(rs, p)
      if (ops.kind === 'Group' && membership) {
        // A large group's members are streamed a page at a time (group-stream.ts), projected or not.
        const group = await deps.store.directoryGroup(orgOf(request), request.params.id)
        if (group && streamsMembers(deps, group)) {
          if (notModified(request, reply, tag(rs, group))) return reply
          return sendGroupStream(deps, reply, rs, orgOf(request), group, baseUrlOf(request), tag(rs, group), p)
        }
      }
      const row = await ops.get(depsOf(request), orgOf(request), request.params.id, membership)
      if (notModified(request, reply, tag(rs, row))) return reply
      return sendJson(reply, 200, render(rs, row, baseUrlOf(request), p), tag(rs, row))
    })

    app.put<{ Params: { id: string }; Querystring: Query }>(`${base}/:id`, async (request, reply) => {
      const rs = await rsOf(request)
      const row = await ops.replace(depsOf(request), orgOf(request), request.params.id, rewriteResource(rs, requireBody(request), request.scimTrace), ifMatchOf(request), writeLog(request, 200), rs)
      return sendOne(request, reply, rs, 200, row, projectionOf(request.query))
    })

    app.patch<{ Params: { id: string }; Querystring: Query }>(`${base}/:id`, async (request, reply) => {
      const p = projectionOf(request.query)
      const noContent = ops.patchNoContent && !p.attributes && !p.excludedAttributes
      const rs = await rsOf(request)
      const row = await ops.patch(depsOf(request), orgOf(request), request.params.id, rewritePatch(rs, requireBody(request), request.scimTrace), ifMatchOf(request), writeLog(request, noContent ? 204 : 200), rs)
      if (noContent) return reply.header('etag', etagOf(row.version)).code(204).send()
      return sendOne(request, reply, rs, 200, row, p)
    })

    app.delete<{ Params: { id: string } }>(`${base}/:id`, async (request, reply) => {
      await ops.remove(depsOf(request), orgOf(request), request.params.id, ifMatchOf(request), writeLog(request, 204))
      return reply.code(204).send()
    })
  }

  // POST /.search across both resource types (RFC 7644 §3.4.3): Users first, then Groups, each
  // in its own sort order; comparisons on an attribute a type lacks are false for that type.
  app.post('/.search', async (request, reply) => {
    const orgId = orgOf(request)
    const p = parseSearchRequest(rewriteSearchRequest(requireBody(request), request.scimTrace), deps.limits.maxResults, noteOn(request))
    // Groups' members are read a page at a time after the rows (list-stream.ts).
    return sendListWithMembers(depsOf(request), reply, orgId, baseUrlOf(request), p, async (): Promise<ListPage> => {
      const parts: { ops: Ops; rs: ResourceSchema; total: number; p: ListParams }[] = []
      for (const ops of [USERS, GROUPS]) {
        const rs = await resourceOf(deps, request, ops.kind)
        const own = { ...p, filter: p.filter ? restrictToResource(rs, p.filter) : null }
        const { total } = await ops.list(depsOf(request), orgId, { ...own, startIndex: 1, count: 0 }, false, rs)
        parts.push({ ops, rs, total, p: own })
      }
      const total = parts.reduce((n, x) => n + x.total, 0)
      const rendered: string[] = []
      let groups: ListPage['groups'] = null
      let skip = p.startIndex - 1
      let want = p.count
      for (const { ops, rs, total: n, p: own } of parts) {
        if (want <= 0) break
        if (skip >= n) {
          skip -= n
          continue
        }
        const membership = wantsMembership(rs, p)
        const page = await ops.list(depsOf(request), orgId, { ...own, startIndex: skip + 1, count: want }, membership && ops.kind === 'User', rs)
        if (ops.kind === 'Group' && membership) groups = { rs, rows: page.rows as GroupRow[] }
        else rendered.push(...page.rows.map((r) => render(rs, r, baseUrlOf(request), p)))
        want -= page.rows.length
        skip = 0
      }
      return { total, startIndex: p.startIndex, rendered, groups }
    })
  })
}
