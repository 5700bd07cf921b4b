// The directory API (docs/api.md): an organization's users and groups in the shape applications
// want (directory/shape.ts), read a page at a time with cursors that stay exact under concurrent
// writes, a user by id, externalId or userName, a user's groups, a group's members. Single
// resources carry their version as a weak ETag and answer If-None-Match with 304.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { apiGroup, apiMember, apiUser } from '../../directory/shape.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { orgResources } from '../../provisioning/org-schemas.ts'
import { ScimError } from '../../scim/errors.ts'
import { etagMatches, etagOf } from '../../scim/etag.ts'
import type { Filter } from '../../scim/filter/ast.ts'
import { parseFilter } from '../../scim/filter/parser.ts'
import type { DirectoryPageQuery, UserState } from '../../store/store.ts'
import { authorize, notFound } from './access.ts'
import { decodeCursor, encodeCursor, invalidParameter, parseInstant, parseLimit } from './paging.ts'
import { DIRECTORY } from './schemas.ts'

type Query = Record<string, unknown>

function filterOf(raw: unknown): Filter | null {
  if (raw === undefined || raw === '') return null
  if (typeof raw !== 'string') throw invalidParameter('filter', 'must be a SCIM filter (RFC 7644 §3.4.2.2)')
  try {
    return parseFilter(raw)
  } catch (e) {
    if (e instanceof ScimError) throw invalidParameter('filter', e.message)
    throw e
  }
}

/**
 * Reads a filtered list. A filter that parses but that the schema refuses (an attribute no
 * schema declares, a value of the wrong type) is found when the store compiles it to SQL, as a
 * ScimError: it is the client's filter, a 400 like a filter that does not parse.
 */
async function filtered<T>(read: Promise<T>): Promise<T> {
  try {
    return await read
  } catch (e) {
    if (e instanceof ScimError) throw invalidParameter('filter', e.message)
    throw e
  }
}

/**
 * The states a list may ask for. `deleted`: the users an identity provider deleted under
 * `deprovision: suspend`, kept for the organization's days (docs/policies.md); the list without a
 * state leaves them out, as SCIM does (RFC 7644 §3.6: a deleted resource is no longer returned).
 */
const STATES: readonly (UserState | 'deleted')[] = ['pending', 'active', 'suspended', 'deleted']

function stateOf(raw: unknown): UserState | 'deleted' | null {
  if (raw === undefined || raw === '') return null
  const s = STATES.find((x) => x === raw)
  if (s === undefined) throw invalidParameter('state', `must be one of ${STATES.join(', ')}`)
  return s
}

function pageQuery(q: Query): DirectoryPageQuery {
  return { filter: filterOf(q.filter), after: decodeCursor(q.cursor), limit: parseLimit(q.limit), updatedSince: parseInstant('updatedSince', q.updatedSince) }
}

/** `{ data, nextCursor }`: nextCursor is null on the last page. */
function page<R, T>(rows: readonly R[], limit: number, idOf: (r: R) => string, shape: (r: R) => T): { data: T[]; nextCursor: string | null } {
  const last = rows[rows.length - 1]
  return { data: rows.map(shape), nextCursor: rows.length === limit && last !== undefined ? encodeCursor(idOf(last)) : null }
}

/** Sends a single resource with its ETag, or 304 when If-None-Match names its version. */
function sendVersioned(request: FastifyRequest, reply: FastifyReply, version: number, body: unknown): FastifyReply {
  void reply.header('etag', etagOf(version))
  const inm = request.headers['if-none-match']
  if (typeof inm === 'string' && etagMatches(inm, version)) return reply.code(304).send()
  return reply.send(body)
}

interface OrgParams { org: string }
interface IdParams extends OrgParams { id: string }

export function registerDirectoryRoutes(app: FastifyInstance, deps: Deps): void {
  const { store } = deps

  app.get<{ Params: OrgParams; Querystring: Query }>('/orgs/:org/users', { schema: DIRECTORY.listUsers }, async (request) => {
    const { state, ...q } = { ...pageQuery(request.query), state: stateOf(request.query.state) }
    if (state === 'deleted') {
      // Kept users are stored as the directory API last showed them: SCIM attributes no longer apply to them.
      if (q.filter) throw invalidParameter('filter', 'cannot be combined with state=deleted: a deleted user is kept as it was shown, not as SCIM data')
      const org = await authorize(deps, request, request.params.org, 'directory:read')
      const kept = await store.deletedUsers(org.id, { after: q.after, limit: q.limit, deletedSince: q.updatedSince })
      return page(kept, q.limit, (u) => String(u.id), (u) => u)
    }
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    // A filter names the organization's declared attributes as SCIM does.
    const rs = q.filter ? (await orgResources(deps, org.id)).user : undefined
    return page(await filtered(store.directoryUsers(org.id, { ...q, state, rs })), q.limit, (u) => u.id, (u) => apiUser(u, org.settings.attributeMapping))
  })

  app.get<{ Params: IdParams }>('/orgs/:org/users/:id', { schema: DIRECTORY.getUser }, async (request, reply) => {
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    const user = await store.directoryUser(org.id, 'id', request.params.id)
    if (user) return sendVersioned(request, reply, user.version, apiUser(user, org.settings.attributeMapping))
    // Deleted by the identity provider and kept under the policy deprovision: suspend.
    const kept = await store.deletedUser(org.id, request.params.id)
    if (!kept) throw notFound('user')
    return sendVersioned(request, reply, Number(kept.version), kept)
  })

  const lookups = [['by-external-id', 'externalId', DIRECTORY.getUserByExternalId], ['by-user-name', 'userName', DIRECTORY.getUserByUserName]] as const
  for (const [path, by, schema] of lookups) {
    app.get<{ Params: OrgParams & { value: string } }>(`/orgs/:org/users/${path}/:value`, { schema }, async (request, reply) => {
      const org = await authorize(deps, request, request.params.org, 'directory:read')
      const user = await store.directoryUser(org.id, by, request.params.value)
      if (!user) throw notFound('user')
      return sendVersioned(request, reply, user.version, apiUser(user, org.settings.attributeMapping))
    })
  }

  app.get<{ Params: IdParams; Querystring: Query }>('/orgs/:org/users/:id/groups', { schema: DIRECTORY.listUserGroups }, async (request) => {
    const after = decodeCursor(request.query.cursor)
    const limit = parseLimit(request.query.limit)
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    if (!(await store.directoryUser(org.id, 'id', request.params.id))) throw notFound('user')
    return page(await store.userGroupsPage(org.id, request.params.id, after, limit), limit, (g) => g.id, apiGroup)
  })

  app.get<{ Params: OrgParams; Querystring: Query }>('/orgs/:org/groups', { schema: DIRECTORY.listGroups }, async (request) => {
    const q = pageQuery(request.query)
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    const rs = q.filter ? (await orgResources(deps, org.id)).group : undefined
    return page(await filtered(store.directoryGroups(org.id, { ...q, rs })), q.limit, (g) => g.id, apiGroup)
  })

  app.get<{ Params: IdParams }>('/orgs/:org/groups/:id', { schema: DIRECTORY.getGroup }, async (request, reply) => {
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    const group = await store.directoryGroup(org.id, request.params.id)
    if (!group) throw notFound('group')
    return sendVersioned(request, reply, group.version, apiGroup(group))
  })

  app.get<{ Params: IdParams; Querystring: Query }>('/orgs/:org/groups/:id/members', { schema: DIRECTORY.listGroupMembers }, async (request) => {
    const after = decodeCursor(request.query.cursor)
    const limit = parseLimit(request.query.limit)
    const org = await authorize(deps, request, request.params.org, 'directory:read')
    if (!(await store.directoryGroup(org.id, request.params.id))) throw notFound('group')
    return page(await store.groupMembersPage(org.id, request.params.id, after, limit), limit, (m) => m.value, apiMember)
  })
}
