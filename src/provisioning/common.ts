// Pieces the user and group use cases share: 404s, If-Match checks, list parameters.
import { etagMatches } from '../scim/etag.ts'
import { ScimError, quote } from '../scim/errors.ts'
import type { ListParams } from '../scim/list-query.ts'
import { wantsAttribute } from '../scim/projection.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import type { ListQuery, ResourceRow } from '../store/store.ts'

export function notFound(kind: string, id: string): ScimError {
  return new ScimError(404, null, `${kind} ${quote(id)} not found`)
}

/** RFC 7644 §3.14: a write with a stale If-Match is refused with 412. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch !== undefined && !etagMatches(ifMatch, version)) {
    throw new ScimError(412, null, 'Resource version does not match If-Match')
  }
}

export function toListQuery(p: ListParams): ListQuery {
  return { filter: p.filter, sortBy: p.sortBy, sortOrder: p.sortOrder, startIndex: p.startIndex, count: p.count }
}

/** Whether the computed membership attribute (`groups` / `members`) will be shown, so whether to read it. */
export function wantsMembership(rs: ResourceSchema, p: { attributes?: readonly string[] | null; excludedAttributes?: readonly string[] | null }): boolean {
  return wantsAttribute(rs, p, rs.kind === 'User' ? 'groups' : 'members')
}

/**
 * A row's own fields, copied, without its membership: a stored row's body is a getter a spread
 * does not copy, and its stored JSON text may be a later write's body, so each field is named and
 * the text dropped. A write's answer adds the membership its own transaction read.
 */
export function ownFields(row: ResourceRow): ResourceRow {
  return { id: row.id, version: row.version, created: row.created, lastModified: row.lastModified, body: row.body, ...(row.directory ? { directory: row.directory } : {}) }
}
