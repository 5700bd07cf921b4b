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
  /** The body's JSON text as stored, when at hand: renderResourceJson splices it in unparsed. */
  readonly json?: string
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
  return { schemas: schemasOf(rs, row.body), id: row.id, ...row.body, ...refsOf(rs, baseUrl, refs), meta: metaOf(rs, row, baseUrl) }
}

function metaOf(rs: ResourceSchema, row: RenderableRow, baseUrl: string): Record<string, unknown> {
  const location = `${baseUrl}${rs.resourceType.endpoint}/${row.id}`
  return { resourceType: rs.resourceType.name, created: row.created, lastModified: row.lastModified, location, version: etagOf(row.version) }
}

function refsOf(rs: ResourceSchema, baseUrl: string, refs: readonly RenderedRef[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (!refs || refs.length === 0) return out
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
  return out
}

/**
 * renderResource, serialized: the same JSON text as JSON.stringify(renderResource(...)), built
 * around the stored body text without parsing it when the row carries it. The stored body is a
 * validated object whose keys are the schema's attributes, so an extension's URN followed by
 * a colon can only appear there as a top-level key (a quote inside a JSON string is escaped).
 */
export function renderResourceJson(rs: ResourceSchema, row: RenderableRow, baseUrl: string, refs?: readonly RenderedRef[]): string {
  const text = row.json
  if (text === undefined) return JSON.stringify(renderResource(rs, row, baseUrl, refs))
  const schemas = [rs.core.id, ...rs.extensions.filter((e) => text.includes(`${JSON.stringify(e.id)}:`)).map((e) => e.id)]
  const inner = text.slice(1, -1).trim()
  const computed = refsJson(rs, baseUrl, refs)
  return `{"schemas":${JSON.stringify(schemas)},"id":${JSON.stringify(row.id)}${inner === '' ? '' : `,${inner}`},${computed === '' ? '' : `${computed},`}"meta":${JSON.stringify(metaOf(rs, row, baseUrl))}}`
}

/**
 * refsOf's member, serialized straight to text: a group of 50,000 members becomes one string
 * without 50,000 intermediate objects (the same text JSON.stringify(refsOf(...)) gives inside
 * its braces).
 */
function refsJson(rs: ResourceSchema, baseUrl: string, refs: readonly RenderedRef[] | undefined): string {
  if (!refs || refs.length === 0) return ''
  const parts: string[] = new Array<string>(refs.length)
  if (rs.kind === 'User') {
    for (let i = 0; i < refs.length; i++) {
      const g = refs[i] as RenderedRef
      const v = JSON.stringify(g.value)
      const display = g.display === undefined ? '' : `,"display":${JSON.stringify(g.display)}`
      parts[i] = `{"value":${v},"$ref":${JSON.stringify(`${baseUrl}/Groups/${g.value}`)}${display},"type":"direct"}`
    }
    return `"groups":[${parts.join(',')}]`
  }
  for (let i = 0; i < refs.length; i++) {
    const m = refs[i] as RenderedRef
    const type = m.type === 'Group' ? 'Group' : 'User'
    const display = m.display == null ? '' : `,"display":${JSON.stringify(m.display)}`
    parts[i] = `{"value":${JSON.stringify(m.value)},"$ref":${JSON.stringify(`${baseUrl}/${type}s/${m.value}`)},"type":"${type}"${display}}`
  }
  return `"members":[${parts.join(',')}]`
}
