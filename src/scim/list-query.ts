// Query parameters of a list or search (RFC 7644 §3.4.2, §3.4.3), from a URL query or a
// SearchRequest body. Unknown parameters are ignored: Entra ID appends aadOptscim062020.
import type { Filter } from './filter/ast.ts'
import { bareValueNote, parseAttrPath, parseFilter } from './filter/parser.ts'
import { ScimError, quote } from './errors.ts'
import { parseAttributeList } from './projection.ts'

export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

export interface ListParams {
  readonly filter: Filter | null
  readonly sortBy: string | null
  readonly sortOrder: 'ascending' | 'descending'
  readonly startIndex: number
  readonly count: number
  readonly attributes: string[] | null
  readonly excludedAttributes: string[] | null
}

/** Parameter names are matched case-insensitively: one pass lower-cases them. */
function byLowerName(src: Record<string, unknown>): (name: string) => unknown {
  const m = new Map<string, unknown>()
  for (const k in src) if (Object.hasOwn(src, k)) m.set(k.toLowerCase(), src[k])
  return (name) => m.get(name.toLowerCase())
}

function integer(v: unknown, name: string): number | null {
  if (v === undefined || v === null || v === '') return null
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN
  if (!Number.isSafeInteger(n)) throw new ScimError(400, 'invalidValue', `${name} must be an integer, got ${quote(v)}`)
  return n
}

function text(v: unknown, name: string): string | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', `${name} must be a string`)
  return v
}

function list(v: unknown, name: string): string[] | null {
  if (v === undefined || v === null) return null
  if (typeof v === 'string') return parseAttributeList(v)
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return parseAttributeList(v.join(','))
  throw new ScimError(400, 'invalidValue', `${name} must be a list of attribute names`)
}

/**
 * Parses list parameters; `count` is clamped to `maxResults` and `startIndex` below 1 reads as 1
 * (RFC 7644 §3.4.2.4). A filter value sent without quotes where only a string can be meant is read
 * as that string (filter/parser.ts) and reported to `note`.
 */
export function parseListParams(src: Record<string, unknown>, maxResults: number, note?: (text: string) => void): ListParams {
  const param = byLowerName(src)
  const filterText = text(param('filter'), 'filter')
  const sortBy = text(param('sortBy'), 'sortBy')
  if (sortBy !== null) parseAttrPath(sortBy)
  const order = text(param('sortOrder'), 'sortOrder')
  let sortOrder: 'ascending' | 'descending' = 'ascending'
  if (order !== null) {
    const o = order.toLowerCase()
    if (o !== 'ascending' && o !== 'descending') throw new ScimError(400, 'invalidValue', `sortOrder must be "ascending" or "descending"`)
    sortOrder = o
  }
  const startIndex = Math.max(1, integer(param('startIndex'), 'startIndex') ?? 1)
  const count = Math.min(maxResults, Math.max(0, integer(param('count'), 'count') ?? maxResults))
  const attributes = list(param('attributes'), 'attributes')
  const excludedAttributes = list(param('excludedAttributes'), 'excludedAttributes')
  return {
    filter: filterText === null || filterText.trim() === '' ? null : parseFilter(filterText, (word) => note?.(bareValueNote(word))),
    sortBy, sortOrder, startIndex, count, attributes, excludedAttributes,
  }
}

/** Checks a POST /.search body (RFC 7644 §3.4.3) and parses it like a query. */
export function parseSearchRequest(body: unknown, maxResults: number, note?: (text: string) => void): ListParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'A SearchRequest must be a JSON object')
  const src = body as Record<string, unknown>
  const schemas = byLowerName(src)('schemas')
  if (schemas !== undefined && !(Array.isArray(schemas) && schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SEARCH_REQUEST_SCHEMA.toLowerCase()))) {
    throw new ScimError(400, 'invalidSyntax', `schemas must contain ${SEARCH_REQUEST_SCHEMA}`)
  }
  return parseListParams(src, maxResults, note)
}
