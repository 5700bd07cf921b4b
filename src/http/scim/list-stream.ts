// A ListResponse (RFC 7644 §3.4.2) whose groups show their members: the page's rows are read
// without members, and each group's members are then read a page at a time (group-stream.ts),
// so that a page of ten 50,000-member groups never holds 500,000 members at once
// (docs/architecture.md, "Large groups"). When the page's groups hold more members than
// Limits.streamMembersOver in all (their member counts, read with the rows), the response is
// streamed, and a group whose version moved while its members were read cuts it off; at or under
// it, the same text is built in memory and sent whole, and a moved version reads the page again.
import { Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { ScimError } from '../../scim/errors.ts'
import type { ProjectionOptions } from '../../scim/projection.ts'
import type { ResourceSchema } from '../../scim/schema/registry.ts'
import { checkDeadline, type Deadline } from '../../store/deadline.ts'
import type { GroupRow, OrgId } from '../../store/store.ts'
import { RETRY_AFTER_SECONDS, SCIM_CONTENT_TYPE } from './errors.ts'
import { GroupChangedWhileStreamed, groupParts, groupText } from './group-stream.ts'
import { sendJson } from './plugin.ts'

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'

/** How many times a buffered page is read again when a group on it changes meanwhile. */
const READS = 3

/** One page of a list: resources already serialized, then groups whose members are to be read. */
export interface ListPage {
  readonly total: number
  readonly startIndex: number
  readonly rendered: readonly string[]
  readonly groups: { readonly rs: ResourceSchema; readonly rows: readonly GroupRow[] } | null
}

/** The opening of a ListResponse, up to and including `"Resources":[`. */
export function listHead(total: number, startIndex: number, itemsPerPage: number): string {
  const head = JSON.stringify({ schemas: [LIST_RESPONSE], totalResults: total, itemsPerPage, startIndex })
  return `${head.slice(0, -1)},"Resources":[`
}

async function* listText(deps: Deps, orgId: OrgId, baseUrl: string, p: ProjectionOptions, page: ListPage, deadline: Deadline | undefined): AsyncGenerator<string> {
  const rows = page.groups?.rows ?? []
  yield `${listHead(page.total, page.startIndex, page.rendered.length + rows.length)}${page.rendered.join(',')}`
  let first = page.rendered.length === 0
  for (const row of rows) {
    if (!first) yield ','
    first = false
    yield* groupText(deps, orgId, row, groupParts((page.groups as { rs: ResourceSchema }).rs, row, baseUrl, p), deadline)
  }
  yield ']}'
}

async function collect(parts: AsyncGenerator<string>): Promise<string> {
  let out = ''
  for await (const s of parts) out += s
  return out
}

/**
 * Sends the page `read` returns, streamed or whole (above). The request's deadline
 * (`deps.deadline`) holds until the answer begins: a page built whole stops reading members at
 * it (the 503 is http/deadline.ts's), a streamed one has begun when its first page is read.
 */
export async function sendListWithMembers(deps: Deps, reply: FastifyReply, orgId: OrgId, baseUrl: string, p: ProjectionOptions, read: () => Promise<ListPage>): Promise<FastifyReply> {
  for (let n = 1; ; n++) {
    const page = await read()
    const members = (page.groups?.rows ?? []).reduce((sum, r) => sum + (r.directory?.memberCount ?? 0), 0)
    if (members > deps.limits.streamMembersOver) {
      return reply.code(200).type(SCIM_CONTENT_TYPE).send(Readable.from(listText(deps, orgId, baseUrl, p, page, undefined), { objectMode: false }))
    }
    try {
      const text = await collect(listText(deps, orgId, baseUrl, p, page, deps.deadline))
      checkDeadline(deps.deadline)
      return sendJson(reply, 200, text)
    } catch (e) {
      if (!(e instanceof GroupChangedWhileStreamed)) throw e
      if (n === READS) throw new ScimError(503, null, 'The groups on this page kept changing while their members were read; retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) })
    }
  }
}
