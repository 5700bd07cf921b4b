// POST /Bulk (RFC 7644 §3.7): runs a BulkRequest's operations through the same use cases as
// single requests (users.ts, groups.ts), so policies, events and the provisioning log all apply,
// one store transaction per operation. The transport hands in `perform`, which runs one
// operation (with its dialect readings and its own log row) once its bulkIds are resolved.
//
// Order and concurrency (docs/architecture.md, "Bulk"): operations run in planBulk's order (each
// after the operations it refers to by bulkId, else in request order). Consecutive POSTs that do
// not refer to each other are submitted together, so the SQLite group committer writes a run of
// creates in one durable commit per batch rather than one per operation, and PostgreSQL spreads
// them over its pool (two creates of one userName, group name or declared unique value never together, so the first in
// request order wins); every other operation waits for what was submitted before it and runs
// alone, so a PATCH, PUT or DELETE sees every earlier operation's effect. With `failOnErrors`
// every operation runs alone, so that processing stops exactly at the error that reaches it.
// Circular references come last (runCircle).
import { ScimError, quote, type ScimErrorBody } from '../scim/errors.ts'
import { fold } from '../scim/fold.ts'
import { getIgnoringCase } from '../scim/resource.ts'
import { BULK_RESPONSE_SCHEMA, planBulk, resolveBulkIds, type BulkOperation, type BulkRequest } from '../scim/bulk.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import { uniqueValues } from '../scim/schema/unique.ts'

/** What one operation did: its status and, on success, the resource's id and version. */
export type OperationOutcome =
  | { readonly ok: true; readonly status: number; readonly id: string | null; readonly location: string | null; readonly version: string | null }
  | { readonly ok: false; readonly error: ScimError }

/** Runs one operation whose path id and data have their bulkIds resolved. */
export type PerformOperation = (op: BulkOperation, id: string | null, data: unknown) => Promise<OperationOutcome>

/** One entry of a BulkResponse's Operations (RFC 7644 §3.7.3). */
export interface BulkResult {
  method: string
  bulkId?: string
  version?: string
  location?: string
  status: string
  response?: ScimErrorBody
}

export interface BulkResponse {
  schemas: [typeof BULK_RESPONSE_SCHEMA]
  Operations: BulkResult[]
}

/** The organization's resource types, for the values its declarations make unique (scim/schema/unique.ts). */
export interface BulkResources {
  readonly user: ResourceSchema
  readonly group: ResourceSchema
}

/**
 * A create's unique values (a user's userName, a group's displayName, folded as uniqueness folds
 * it, and the values of attributes the organization declared unique, keyed as they compare): two
 * creates sharing one are never in flight together, so the first in request order is the one
 * that wins and the second the one that answers 409, on PostgreSQL as on SQLite.
 */
function uniqueKeys(op: BulkOperation, resources: BulkResources | undefined): string[] {
  if (op.method !== 'POST' || typeof op.data !== 'object' || op.data === null || Array.isArray(op.data)) return []
  const data = op.data as Record<string, unknown>
  const name = getIgnoringCase(data, op.endpoint === 'Users' ? 'userName' : 'displayName')
  const keys = typeof name === 'string' ? [`${op.endpoint ?? ''}\n${fold(name)}`] : []
  const rs = resources ? (op.endpoint === 'Users' ? resources.user : resources.group) : undefined
  for (const v of rs ? uniqueValues(rs, data) : []) keys.push(`${op.endpoint ?? ''}\n${v.schema.toLowerCase()}:${v.name.toLowerCase()}\n${v.key}`)
  return keys
}

/** Most operations submitted together; a longer run of creates is submitted in several parts. */
const MAX_CONCURRENT = 256

function failed(op: BulkOperation, error: ScimError): BulkResult {
  return { method: op.method, ...(op.bulkId !== null ? { bulkId: op.bulkId } : {}), status: String(error.status), response: error.toBody() }
}

/**
 * Runs a checked BulkRequest; the results are in request order, without the operations never run.
 * `resources`: the organization's resource types, whose declared unique attributes order creates as userName does.
 */
export async function runBulk(req: BulkRequest, perform: PerformOperation, resources?: BulkResources): Promise<BulkResponse> {
  const ops = req.operations
  const plan = planBulk(ops)
  const results = new Map<number, BulkResult>()
  const created = new Map<string, string>()
  const pendingBulkIds = new Set<string>()
  /** The unique names (userName, a group's displayName) of the creates in flight. */
  const pendingKeys = new Set<string>()
  const known = new Set(ops.flatMap((op) => (op.bulkId !== null && op.error === null ? [op.bulkId] : [])))
  let wave: Promise<void>[] = []
  let errors = 0
  const stopped = () => req.failOnErrors !== null && errors >= req.failOnErrors

  const record = (op: BulkOperation, r: BulkResult): void => {
    results.set(op.index, r)
    if (r.response) errors++
  }
  const flush = async (): Promise<void> => {
    if (wave.length === 0) return
    const w = wave
    wave = []
    await Promise.all(w)
    pendingBulkIds.clear()
    pendingKeys.clear()
  }
  const run = async (op: BulkOperation, data: unknown = op.data): Promise<void> => {
    const id = op.id === null ? null : (resolveBulkIds(op.id, created) as string)
    const out = await perform(op, id, resolveBulkIds(data, created))
    if (!out.ok) {
      record(op, failed(op, out.error))
      return
    }
    if (op.bulkId !== null && out.id !== null) created.set(op.bulkId, out.id)
    record(op, {
      method: op.method, ...(op.bulkId !== null ? { bulkId: op.bulkId } : {}),
      ...(out.version !== null ? { version: out.version } : {}), ...(out.location !== null ? { location: out.location } : {}),
      status: String(out.status),
    })
  }
  /** Why an operation cannot run now (an unknown or unresolved reference), or null. */
  const blocked = (op: BulkOperation, refs: readonly string[] = op.refs): ScimError | null => {
    const unknown = refs.find((r) => !known.has(r))
    if (unknown !== undefined) return new ScimError(400, 'invalidValue', `bulkId ${quote(unknown)} names no operation of this request`)
    const unresolved = refs.find((r) => !created.has(r))
    return unresolved === undefined ? null : new ScimError(409, null, `bulkId ${quote(unresolved)} cannot be resolved: its operation failed`)
  }

  for (const index of plan.order) {
    if (stopped()) break
    const op = ops[index] as BulkOperation
    if (op.error) {
      record(op, failed(op, op.error))
      continue
    }
    const keys = uniqueKeys(op, resources)
    const concurrent = req.failOnErrors === null && op.method === 'POST' && !op.refs.some((r) => pendingBulkIds.has(r)) && !keys.some((k) => pendingKeys.has(k))
    if (!concurrent || wave.length >= MAX_CONCURRENT) await flush()
    const why = blocked(op)
    if (why) {
      record(op, failed(op, why))
      continue
    }
    if (concurrent) {
      wave.push(run(op))
      if (op.bulkId !== null) pendingBulkIds.add(op.bulkId)
      for (const k of keys) pendingKeys.add(k)
    } else {
      await run(op)
    }
  }
  await flush()
  if (plan.circular.size > 0) await runCircle(ops.filter((op) => plan.circular.has(op.index)), { run, record, blocked, stopped, created, perform })
  await flush()
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: [...results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r) }
}

interface CircleContext {
  readonly run: (op: BulkOperation, data?: unknown) => Promise<void>
  readonly record: (op: BulkOperation, r: BulkResult) => void
  readonly blocked: (op: BulkOperation, refs?: readonly string[]) => ScimError | null
  readonly stopped: () => boolean
  readonly created: ReadonlyMap<string, string>
  readonly perform: PerformOperation
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The `bulkId:x` member values of a group's data that name an operation of the circle. */
function circleMembers(data: unknown, circle: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  const members = isObject(data) ? Object.entries(data).find(([k]) => k.toLowerCase() === 'members')?.[1] : undefined
  for (const m of Array.isArray(members) ? members : []) {
    const v = isObject(m) ? Object.entries(m).find(([k]) => k.toLowerCase() === 'value')?.[1] : undefined
    if (typeof v === 'string' && v.startsWith('bulkId:') && circle.has(v.slice(7))) out.add(v.slice(7))
  }
  return out
}

/**
 * Operations on a circle of bulkId references (RFC 7644 §3.7.1: the service provider MUST try to
 * resolve them). Groups whose only references into the circle are members (the RFC's example: two
 * groups each a member of the other) are created without those members, the other operations of
 * the circle then run if their references now resolve, and last each such group gets its deferred
 * members by a PATCH of its own (its own log row and events). What still cannot be resolved answers
 * 409, as §3.7.1 allows.
 */
async function runCircle(circle: readonly BulkOperation[], c: CircleContext): Promise<void> {
  const ids = new Set(circle.flatMap((op) => (op.bulkId !== null ? [op.bulkId] : [])))
  const deferred = new Map<BulkOperation, Set<string>>()
  for (const op of circle) {
    if (op.error || op.method !== 'POST' || op.endpoint !== 'Groups') continue
    const members = circleMembers(op.data, ids)
    const rest = op.refs.filter((r) => !members.has(r))
    // A reference into the circle outside `members` cannot be deferred.
    // A group naming itself is refused by the use case anyway: it is not deferred.
    if (members.size > 0 && !rest.some((r) => ids.has(r)) && !(op.bulkId !== null && members.has(op.bulkId))) deferred.set(op, members)
  }
  const circleError = (op: BulkOperation) => new ScimError(409, null,
    `bulkId references form a circle through this operation (${op.refs.map((r) => quote(r)).join(', ')}) that cannot be resolved; create the resources first, then link them with PATCH`)
  for (const [op, members] of deferred) {
    if (c.stopped()) return
    const why = c.blocked(op, op.refs.filter((r) => !members.has(r)))
    if (why) {
      c.record(op, failed(op, why))
      deferred.delete(op)
      continue
    }
    const data = op.data as Record<string, unknown>
    const without = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k.toLowerCase() !== 'members' || !Array.isArray(v) ? v
      : v.filter((m) => !(isObject(m) && Object.values(m).some((x) => typeof x === 'string' && x.startsWith('bulkId:') && members.has(x.slice(7)))))]))
    await c.run(op, without)
  }
  for (const op of circle) {
    if (deferred.has(op)) continue
    if (c.stopped()) return
    if (op.error) c.record(op, failed(op, op.error))
    else if (op.refs.every((r) => c.created.has(r))) await c.run(op)
    else c.record(op, failed(op, op.refs.some((r) => ids.has(r) && !c.created.has(r)) ? circleError(op) : c.blocked(op) ?? circleError(op)))
  }
  for (const [op, members] of deferred) {
    if (c.stopped()) return
    const id = op.bulkId === null ? undefined : c.created.get(op.bulkId)
    if (id === undefined) continue
    const why = c.blocked(op, [...members])
    const value = [...members].map((m) => ({ value: c.created.get(m) ?? '' }))
    const patch = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value }] }
    const out = why ? { ok: false as const, error: why } : await c.perform({ ...op, method: 'PATCH', path: `/Groups/${id}`, id, bulkId: null, data: patch, refs: [] }, id, patch)
    if (out.ok) {
      c.record(op, { method: op.method, ...(op.bulkId !== null ? { bulkId: op.bulkId } : {}), ...(out.version !== null ? { version: out.version } : {}), ...(out.location !== null ? { location: out.location } : {}), status: '201' })
    } else {
      const e = new ScimError(out.error.status, out.error.scimType, `The group was created (${id}) without the members it names by bulkId, and adding them failed: ${out.error.message}`)
      c.record(op, failed(op, e))
    }
  }
}
