// A group's members, a page at a time (docs/architecture.md, "Large groups"): the group's own
// attributes are rendered first, then its members in keyset pages of the membership rows (the
// directory API's query), each page written before the next is read, so that the server holds
// one page however large the group is. GET /Groups/{id} of a large group, a write's answer that
// shows one, and list pages (list-stream.ts) are written this way.
//
// Every membership change moves the group's version. The version is read again after the last
// page, and if it moved the group's text is not finished: a streamed response is cut off (the
// client sees a broken transfer and asks again), a buffered one is read again. A client never
// receives a member list that did not exist at one moment, under the version `meta` shows.
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { etagOf } from '../../scim/etag.ts'
import { project, type ProjectionOptions } from '../../scim/projection.ts'
import { memberJson, memberObject, renderResource, renderResourceJson } from '../../scim/render.ts'
import type { ResourceSchema } from '../../scim/schema/registry.ts'
import { checkDeadline, type Deadline } from '../../store/deadline.ts'
import type { GroupRow, MemberRow, OrgId } from '../../store/store.ts'
import { SCIM_CONTENT_TYPE } from './errors.ts'

export class GroupChangedWhileStreamed extends Error {
  constructor(id: string) {
    super(`Group ${id} changed while its members were being sent; the response was cut off so that the client reads it again`)
    this.name = 'GroupChangedWhileStreamed'
  }
}

/** Whether a single group's answer streams (more members than the limit). */
export function streamsMembers(deps: Deps, group: GroupRow): boolean {
  return (group.directory?.memberCount ?? 0) > deps.limits.streamMembersOver
}

/** A group's text split around its members, under the request's projection (RFC 7644 §3.4.2.5). */
export interface GroupParts {
  /** Whether any member can be shown (a projection may drop `members` or all of its sub-attributes). */
  readonly shown: boolean
  /** The text up to `"members":[`, and from its `]` on. */
  readonly head: string
  readonly tail: string
  /** The text when no member is shown: no `members` at all, as the unstreamed renderer writes it. */
  readonly bare: string
  /** The shown elements of one page of members, as JSON texts. */
  members(page: readonly MemberRow[]): string[]
}

const MARK = '\u0000members\u0000'

export function groupParts(rs: ResourceSchema, group: GroupRow, baseUrl: string, p: ProjectionOptions): GroupParts {
  if (!p.attributes && !p.excludedAttributes) {
    // Split where renderResourceJson puts members: before meta, always the last attribute.
    const bare = renderResourceJson(rs, group, baseUrl)
    const at = bare.lastIndexOf(',"meta":')
    return {
      shown: true, bare, head: `${bare.slice(0, at)},"members":[`, tail: `]${bare.slice(at)}`,
      members: (page) => page.map((m) => memberJson(baseUrl, m)),
    }
  }
  // Projected: the group rendered with one member carrying every sub-attribute, projected; what
  // the projection keeps of that member it keeps of each (projection.ts works per attribute
  // name), and `members` keeps its place among the attributes.
  const whole = project(rs, renderResource(rs, group, baseUrl, [{ value: MARK, type: 'User', display: MARK }]), p)
  const shown = Array.isArray(whole.members)
  if (shown) whole.members = MARK
  const text = JSON.stringify(whole)
  const key = `"members":${JSON.stringify(MARK)}`
  const at = text.lastIndexOf(key)
  const before = shown ? text.slice(0, at) : text
  const after = shown ? text.slice(at + key.length) : ''
  const bare = !shown ? text : before.endsWith(',') ? `${before.slice(0, -1)}${after}` : after.startsWith(',') ? `${before}${after.slice(1)}` : `${before}${after}`
  return {
    shown, bare, head: `${before}"members":[`, tail: `]${after}`,
    members(page) {
      const kept = project(rs, { members: page.map((m) => memberObject(baseUrl, m)) }, p).members
      return Array.isArray(kept) ? kept.map((m) => JSON.stringify(m)) : []
    },
  }
}

/**
 * The group's text: `bare` without reading a membership row when no member can be shown (a
 * count of 0 read with the row's version is that version's member list), else the members a
 * page at a time, then the version check. Throws GroupChangedWhileStreamed when it moved, and
 * DeadlineExceeded before a page read past `deadline` (given for an answer not yet begun).
 */
export async function* groupText(deps: Deps, orgId: OrgId, group: GroupRow, parts: GroupParts, deadline?: Deadline): AsyncGenerator<string> {
  if (!parts.shown || group.directory?.memberCount === 0) {
    yield parts.bare
    return
  }
  const size = deps.limits.memberPageSize
  let after: string | null = null
  let opened = false
  for (;;) {
    checkDeadline(deadline)
    const page = await deps.store.groupMembersPage(orgId, group.id, after, size)
    const texts = parts.members(page)
    if (texts.length > 0) {
      yield `${opened ? ',' : parts.head}${texts.join(',')}`
      opened = true
    }
    if (page.length > 0) after = (page[page.length - 1] as MemberRow).value
    if (page.length < size) break
  }
  const now = await deps.store.getGroup(orgId, group.id, { withMembership: false })
  if (now?.version !== group.version) throw new GroupChangedWhileStreamed(group.id)
  yield opened ? parts.tail : parts.bare
}

/** One group, streamed with its ETag (GET /Groups/{id}, or a write's answer), status 200 or 201. */
export function sendGroupStream(deps: Deps, reply: FastifyReply, rs: ResourceSchema, orgId: OrgId, group: GroupRow, baseUrl: string, tag: string, p: ProjectionOptions, status = 200): FastifyReply {
  void reply.header('etag', etagOf(tag))
  const body = groupText(deps, orgId, group, groupParts(rs, group, baseUrl, p))
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(Readable.from(body, { objectMode: false }))
}
