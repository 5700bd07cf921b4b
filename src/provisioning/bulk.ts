// POST /Bulk (RFC 7644 §3.7): runs a BulkRequest's operations through the same use cases as
// single requests (users.ts, groups.ts), so policies, events and the provisioning log all apply,
// one store transaction per operation. The transport hands in `perform`, which runs one
// operation (with its dialect readings and its own log row) once its bulkIds are resolved.
//
// Order and concurrency (docs/architecture.md, "Bulk"): operations run in planBulk's order (each
// after the operations it refers to by bulkId, else in request order). Consecutive POSTs that do
// not refer to each other are submitted together, so the SQLite group committer writes a run of
// creates in one durable commit per batch rather than one per operation, and PostgreSQL spreads
// them over its pool; every other operation waits for what was submitted before it and runs
// alone, so a PATCH, PUT or DELETE sees every earlier operation's effect. With `failOnErrors`
// every operation runs alone, so that processing stops exactly at the error that reaches it.
import { ScimError, quote, type ScimErrorBody } from '../scim/errors.ts'
import { BULK_RESPONSE_SCHEMA, planBulk, resolveBulkIds, type BulkOperation, type BulkRequest } from '../scim/bulk.ts'

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

/** Most operations submitted together; a longer run of creates is submitted in several parts. */
const MAX_CONCURRENT = 256

function failed(op: BulkOperation, error: ScimError): BulkResult {
  return { method: op.method, ...(op.bulkId !== null ? { bulkId: op.bulkId } : {}), status: String(error.status), response: error.toBody() }
}

/** Runs a checked BulkRequest; the results are in request order, without the operations never run. */
export async function runBulk(req: BulkRequest, perform: PerformOperation): Promise<BulkResponse> {
  const ops = req.operations
  const plan = planBulk(ops)
  const results = new Map<number, BulkResult>()
  const created = new Map<string, string>()
  const pendingBulkIds = new Set<string>()
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
  }
  const run = async (op: BulkOperation): Promise<void> => {
    const id = op.id === null ? null : (resolveBulkIds(op.id, created) as string)
    const out = await perform(op, id, resolveBulkIds(op.data, created))
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

  // Operations that cannot run at all are answered in their place in the order.
  const circular = [...plan.circular].sort((a, b) => a - b)
  for (const index of [...plan.order, ...circular]) {
    if (stopped()) break
    const op = ops[index] as BulkOperation
    if (op.error) {
      record(op, failed(op, op.error))
      continue
    }
    if (plan.circular.has(index)) {
      // RFC 7644 §3.7.1: a service provider MAY stop at circular references and answer 409.
      record(op, failed(op, new ScimError(409, null, `bulkId references form a circle through this operation (${op.refs.map((r) => quote(r)).join(', ')}); create the resources first, then link them with PATCH`)))
      continue
    }
    const unknown = op.refs.find((r) => !known.has(r))
    if (unknown !== undefined) {
      record(op, failed(op, new ScimError(400, 'invalidValue', `bulkId ${quote(unknown)} names no operation of this request`)))
      continue
    }
    const concurrent = req.failOnErrors === null && op.method === 'POST' && !op.refs.some((r) => pendingBulkIds.has(r))
    if (!concurrent || wave.length >= MAX_CONCURRENT) await flush()
    const unresolved = op.refs.find((r) => !created.has(r))
    if (unresolved !== undefined) {
      record(op, failed(op, new ScimError(409, null, `bulkId ${quote(unresolved)} cannot be resolved: its operation failed`)))
      continue
    }
    if (concurrent) {
      wave.push(run(op))
      if (op.bulkId !== null) pendingBulkIds.add(op.bulkId)
    } else {
      await run(op)
    }
  }
  await flush()
  return { schemas: [BULK_RESPONSE_SCHEMA], Operations: [...results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r) }
}
