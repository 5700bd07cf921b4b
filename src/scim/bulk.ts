// Bulk requests (RFC 7644 §3.7): the BulkRequest message checked and read into operations, the
// `bulkId` references between them (§3.7.2: "bulkId:<id>" as a value, or as the id in a path),
// the order that runs each operation after those it refers to, and the circular references
// (§3.7.1) that no order can satisfy. Pure: running the operations is provisioning/bulk.ts's.
//
// What fails the whole request (400, or 413 beyond maxOperations): a body that is not a
// BulkRequest, `Operations` not an array, `failOnErrors` not a positive integer, two operations
// with one bulkId. What fails one operation (its own result, status 400): a method other than
// POST, PUT, PATCH or DELETE, a path that names no /Users or /Groups resource, a POST without a
// bulkId or without data, data where none belongs.
import { ScimError, quote } from './errors.ts'
import { getIgnoringCase, isObject } from './resource.ts'

export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse'

const BULK_ID_PREFIX = 'bulkId:'

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface BulkOperation {
  /** Position in the request's Operations. */
  readonly index: number
  /** The method as sent (for the result), upper-cased when it is one of ours. */
  readonly method: string
  readonly bulkId: string | null
  /** `version`: the operation's If-Match (RFC 7644 §3.7: "version" of the resource). */
  readonly version: string | null
  /** The path as sent. */
  readonly path: string
  readonly endpoint: 'Users' | 'Groups' | null
  /** The id in the path (possibly `bulkId:x`); null for a POST. */
  readonly id: string | null
  readonly data: unknown
  /** The bulkIds this operation refers to, in its path or anywhere in its data. */
  readonly refs: readonly string[]
  /** Why this operation cannot run at all, or null. */
  readonly error: ScimError | null
}

export interface BulkRequest {
  /** Stop after this many errors (RFC 7644 §3.7.3), or null to run every operation. */
  readonly failOnErrors: number | null
  readonly operations: readonly BulkOperation[]
}

const METHODS: ReadonlySet<string> = new Set<BulkMethod>(['POST', 'PUT', 'PATCH', 'DELETE'])
const PATH = /^\/(users|groups)(?:\/([^/?#]+))?\/?$/i

/** Every `bulkId:x` string anywhere in a value, as `x`. */
function collectRefs(value: unknown, out: Set<string>, depth = 0): void {
  if (depth > 64) return
  if (typeof value === 'string') {
    if (value.startsWith(BULK_ID_PREFIX) && value.length > BULK_ID_PREFIX.length) out.add(value.slice(BULK_ID_PREFIX.length))
  } else if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out, depth + 1)
  } else if (isObject(value)) {
    for (const v of Object.values(value)) collectRefs(v, out, depth + 1)
  }
}

function readOperation(raw: unknown, index: number): BulkOperation {
  const at = `Operations[${index}]`
  const base = { index, method: '', bulkId: null, version: null, path: '', endpoint: null, id: null, data: undefined, refs: [] }
  const bad = (detail: string, extra: Partial<BulkOperation> = {}): BulkOperation =>
    ({ ...base, ...extra, error: new ScimError(400, 'invalidSyntax', `${at}: ${detail}`) })
  if (!isObject(raw)) return bad('must be an object with "method" and "path"')
  const m = getIgnoringCase(raw, 'method')
  const method = typeof m === 'string' ? m.toUpperCase() : ''
  const b = getIgnoringCase(raw, 'bulkId')
  const bulkId = typeof b === 'string' && b !== '' ? b : null
  const v = getIgnoringCase(raw, 'version')
  const version = typeof v === 'string' && v !== '' ? v : null
  const p = getIgnoringCase(raw, 'path')
  const path = typeof p === 'string' ? p : ''
  const data = getIgnoringCase(raw, 'data')
  const known = { method: typeof m === 'string' ? method : String(m), bulkId, version, path }
  if (b !== undefined && b !== null && bulkId === null) return bad('"bulkId" must be a non-empty string', known)
  if (!METHODS.has(method)) return bad(`"method" must be POST, PUT, PATCH or DELETE, got ${quote(m)}`, known)
  const match = PATH.exec(path)
  if (!match) return bad(`"path" must be /Users or /Groups (with "/{id}" for ${method === 'POST' ? 'other methods' : method}), got ${quote(p)}`, known)
  const endpoint = match[1]?.toLowerCase() === 'users' ? 'Users' : 'Groups'
  const id = match[2] === undefined ? null : decodeURIComponent(match[2])
  const refs = new Set<string>()
  if (id?.startsWith(BULK_ID_PREFIX)) refs.add(id.slice(BULK_ID_PREFIX.length))
  collectRefs(data, refs)
  const op = { ...known, endpoint, id, data, refs: [...refs] } as const
  if (method === 'POST') {
    if (id !== null) return bad(`a POST's "path" is /${endpoint}, without an id`, op)
    // RFC 7644 §3.7: bulkId is REQUIRED for POST.
    if (bulkId === null) return bad('a POST needs a "bulkId" (RFC 7644 §3.7)', op)
  } else if (id === null) {
    return bad(`a ${method} needs "/${endpoint}/{id}" as its "path"`, op)
  }
  if (method === 'DELETE' && data !== undefined && data !== null) return bad('a DELETE carries no "data"', op)
  if (method !== 'DELETE' && !isObject(data)) return bad(`a ${method} needs "data", the resource or PatchOp to send`, op)
  return { index, ...op, error: null }
}

/**
 * Checks a BulkRequest (RFC 7644 §3.7) and reads its operations. More than `maxOperations` is 413
 * (§3.7.4); a malformed envelope is 400; a malformed operation becomes that operation's error.
 */
export function parseBulkRequest(body: unknown, maxOperations: number): BulkRequest {
  if (!isObject(body)) throw new ScimError(400, 'invalidSyntax', 'A BulkRequest must be a JSON object')
  const schemas = getIgnoringCase(body, 'schemas')
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === BULK_REQUEST_SCHEMA.toLowerCase())) {
    throw new ScimError(400, 'invalidSyntax', `"schemas" must contain "${BULK_REQUEST_SCHEMA}"`)
  }
  const ops = getIgnoringCase(body, 'Operations')
  if (!Array.isArray(ops)) throw new ScimError(400, 'invalidSyntax', '"Operations" must be an array')
  if (ops.length > maxOperations) {
    throw new ScimError(413, 'tooMany', `The bulk request has ${ops.length} operations; at most ${maxOperations} are accepted (maxOperations, /ServiceProviderConfig)`)
  }
  const f = getIgnoringCase(body, 'failOnErrors')
  if (f !== undefined && f !== null && !(Number.isSafeInteger(f) && (f as number) >= 1)) {
    throw new ScimError(400, 'invalidValue', `"failOnErrors" must be a positive integer, got ${quote(f)}`)
  }
  const operations = ops.map(readOperation)
  const seen = new Set<string>()
  for (const op of operations) {
    if (op.bulkId === null) continue
    if (seen.has(op.bulkId)) throw new ScimError(400, 'invalidValue', `bulkId ${quote(op.bulkId)} is used by more than one operation`)
    seen.add(op.bulkId)
  }
  return { failOnErrors: typeof f === 'number' ? f : null, operations }
}

export interface BulkPlan {
  /** Operation indexes, each after the operations whose bulkIds it refers to, else in request order. */
  readonly order: readonly number[]
  /** Operations on a circular chain of references (RFC 7644 §3.7.1), or depending on one. */
  readonly circular: ReadonlySet<number>
}

/**
 * The order to run the operations in: Kahn's algorithm over the bulkId references, taking the
 * lowest request index first, so a request without forward references runs in its own order. What
 * is left over is circular (or waits on a circle): those operations are reported, not run.
 */
export function planBulk(ops: readonly BulkOperation[]): BulkPlan {
  const byBulkId = new Map<string, number>()
  for (const op of ops) if (op.bulkId !== null && op.error === null) byBulkId.set(op.bulkId, op.index)
  const waitsOn = ops.map((op) => new Set(op.refs.map((r) => byBulkId.get(r)).filter((i): i is number => i !== undefined && i !== op.index)))
  const selfRef = new Set(ops.filter((op) => op.bulkId !== null && op.refs.includes(op.bulkId)).map((op) => op.index))
  const dependents = ops.map(() => [] as number[])
  waitsOn.forEach((deps, i) => deps.forEach((d) => dependents[d]?.push(i)))
  const pending = waitsOn.map((d) => d.size)
  // A small binary heap of ready indexes, lowest first.
  const heap: number[] = []
  const push = (x: number): void => {
    heap.push(x)
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1
      if ((heap[parent] as number) <= x) break
      heap[i] = heap[parent] as number
      heap[parent] = x
      i = parent
    }
  }
  const pop = (): number => {
    const top = heap[0] as number
    const last = heap.pop() as number
    if (heap.length > 0) {
      heap[0] = last
      for (let i = 0; ;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && (heap[l] as number) < (heap[m] as number)) m = l
        if (r < heap.length && (heap[r] as number) < (heap[m] as number)) m = r
        if (m === i) break
        const t = heap[i] as number
        heap[i] = heap[m] as number
        heap[m] = t
        i = m
      }
    }
    return top
  }
  pending.forEach((n, i) => {
    if (n === 0 && !selfRef.has(i)) push(i)
  })
  const order: number[] = []
  while (heap.length > 0) {
    const i = pop()
    order.push(i)
    for (const d of dependents[i] ?? []) if (--(pending[d] as number) === 0 && !selfRef.has(d)) push(d)
  }
  const placed = new Set(order)
  return { order, circular: new Set(ops.map((op) => op.index).filter((i) => !placed.has(i))) }
}

/** `value` with every `bulkId:x` string replaced by the id `x` was created with (copy on write). */
export function resolveBulkIds(value: unknown, ids: ReadonlyMap<string, string>, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.startsWith(BULK_ID_PREFIX) ? ids.get(value.slice(BULK_ID_PREFIX.length)) ?? value : value
  }
  if (depth > 64) return value
  if (Array.isArray(value)) {
    let out: unknown[] | null = null
    value.forEach((v, i) => {
      const r = resolveBulkIds(v, ids, depth + 1)
      if (r !== v) (out ??= [...value])[i] = r
    })
    return out ?? value
  }
  if (isObject(value)) {
    let out: Record<string, unknown> | null = null
    for (const [k, v] of Object.entries(value)) {
      const r = resolveBulkIds(v, ids, depth + 1)
      if (r !== v) (out ??= { ...value })[k] = r
    }
    return out ?? value
  }
  return value
}
