// Renders stored rows as SCIM resources (RFC 7643 §3.1, §4): schemas, id, the body, the
// computed membership attribute, and meta with location and version.
import { etagOf } from './etag.ts'
import type { ResourceSchema } from './schema/registry.ts'

export interface RenderableRow {
  readonly id: string
  readonly version: number
  readonly created: string
  readonly lastModified: string
  readonly body: Record<string, unknown>
}

export interface RenderedRef { readonly value: string; readonly display?: string | null; readonly type?: string }

/** `schemas` lists the core schema and each extension the body carries (RFC 7643 §3). */
export function schemasOf(rs: ResourceSchema, body: Record<string, unknown>): string[] {
  return [rs.core.id, ...rs.extensions.filter((e) => body[e.id] !== undefined).map((e) => e.id)]
}

/**
 * The SCIM representation of a row. `refs` is the computed multi-valued attribute (a user's
 * `groups`, a group's `members`), rendered with `$ref` URIs; undefined leaves it out.
 */
export function renderResource(rs: ResourceSchema, row: RenderableRow, baseUrl: string, refs?: readonly RenderedRef[]): Record<string, unknown> {
  const location = `${baseUrl}${rs.resourceType.endpoint}/${row.id}`
  const out: Record<string, unknown> = { schemas: schemasOf(rs, row.body), id: row.id, ...row.body }
  if (refs && refs.length > 0) {
    if (rs.kind === 'User') {
      out.groups = refs.map((g) => ({ value: g.value, $ref: `${baseUrl}/Groups/${g.value}`, display: g.display, type: 'direct' }))
    } else {
      out.members = refs.map((m) => {
        const type = m.type === 'Group' ? 'Group' : 'User'
        const ref: Record<string, unknown> = { value: m.value, $ref: `${baseUrl}/${type}s/${m.value}`, type }
        if (m.display != null) ref.display = m.display
        return ref
      })
    }
  }
  out.meta = { resourceType: rs.resourceType.name, created: row.created, lastModified: row.lastModified, location, version: etagOf(row.version) }
  return out
}
