// GET /Groups/{id} of a large group, streamed (docs/architecture.md, "Large groups"): the group's
// own attributes are rendered first, then its members a page at a time (keyset pages of the
// membership rows, as the directory API reads them), each page written before the next is read,
// so that the server holds one page however large the group is. Every membership change moves
// the group's version; the version is read again after the last page, and if it moved the
// response is cut off instead of ending: the client sees a broken transfer and asks again, and
// never receives a member list that did not exist at one moment.
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { etagOf } from '../../scim/etag.ts'
import { memberJson, renderResourceJson } from '../../scim/render.ts'
import type { ResourceSchema } from '../../scim/schema/registry.ts'
import type { GroupRow, OrgId } from '../../store/store.ts'
import { SCIM_CONTENT_TYPE } from './errors.ts'

export class GroupChangedWhileStreamed extends Error {
  constructor(id: string) {
    super(`Group ${id} changed while its members were being sent; the response was cut off so that the client reads it again`)
    this.name = 'GroupChangedWhileStreamed'
  }
}

/** Whether GET /Groups/{id} streams this group (more members than the limit). */
export function streamsMembers(deps: Deps, group: GroupRow): boolean {
  return (group.directory?.memberCount ?? 0) > deps.limits.streamMembersOver
}

export function sendGroupStream(deps: Deps, reply: FastifyReply, rs: ResourceSchema, orgId: OrgId, group: GroupRow, baseUrl: string, tag: string): FastifyReply {
  // The group without members, split where renderResourceJson puts them: before meta.
  const whole = renderResourceJson(rs, group, baseUrl)
  const at = whole.lastIndexOf(',"meta":')
  const head = `${whole.slice(0, at)},"members":[`
  const tail = `]${whole.slice(at)}`
  const size = deps.limits.memberPageSize
  async function* body(): AsyncGenerator<string> {
    yield head
    let after: string | null = null
    let first = true
    for (;;) {
      const page = await deps.store.groupMembersPage(orgId, group.id, after, size)
      if (page.length > 0) {
        yield `${first ? '' : ','}${page.map((m) => memberJson(baseUrl, m)).join(',')}`
        first = false
        after = (page[page.length - 1] as { value: string }).value
      }
      if (page.length < size) break
    }
    const now = await deps.store.getGroup(orgId, group.id, { withMembership: false })
    if (now?.version !== group.version) throw new GroupChangedWhileStreamed(group.id)
    yield tail
  }
  void reply.header('etag', etagOf(tag))
  return reply.code(200).type(SCIM_CONTENT_TYPE).send(Readable.from(body(), { objectMode: false }))
}
