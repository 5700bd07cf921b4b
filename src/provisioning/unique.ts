// Uniqueness of declared attributes in the writes (docs/custom-attributes.md, "Uniqueness"): each
// user or group write keeps the unique index (store/unique-store.ts) in its own transaction, and
// checks there that the declarations it validated with are still the organization's, so that no
// write validated before a declaration changed commits after it (it runs again, with the new ones).
//
// Why that is race-free with several servers on PostgreSQL: a write reads the declarations'
// version with FOR KEY SHARE on the organization's row (org-policy.ts `policy`), and a change of
// declarations takes that row FOR UPDATE before it rebuilds the index. Whichever comes second waits
// for the other's commit: a rebuild then sees every value the write committed; a write then reads
// the new version and runs again under it. Two writes of one value are decided by the index's
// primary key: the second waits for the first and inserts nothing (409), or inserts if it rolled back.
import { ScimError, quote } from '../scim/errors.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import { uniqueAttributes, uniqueValuesOf, type UniqueValue } from '../scim/schema/unique.ts'
import type { OrgPolicy } from '../store/org-store.ts'
import type { OrgId, ResourceId, StoreTx } from '../store/store.ts'
import { StoreUnavailable } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { orgResources } from './org-schemas.ts'

/** The organization's declarations changed between the request's validation and its transaction. */
export class SchemasChanged extends Error {
  constructor() {
    super("the organization's declared schemas changed during the request")
    this.name = 'SchemasChanged'
  }
}

/** Fails the transaction when `rs` was built from declarations other than those `policy` read (and holds). */
export function checkSchemaVersion(policy: OrgPolicy, rs: ResourceSchema): void {
  if (policy.schemaVersion !== (rs.schemaVersion ?? 0)) throw new SchemasChanged()
}

/** The 409 of a value another resource holds (RFC 7644 §3.3, §3.12: `uniqueness`). */
function taken(rs: ResourceSchema, v: UniqueValue, holder: ResourceId | null): ScimError {
  const what = typeof v.value === 'string' ? quote(v.value) : JSON.stringify(v.value)
  return new ScimError(409, 'uniqueness', `${v.schema}:${v.name} ${what} is already taken${holder ? ` by ${rs.kind} ${holder}` : ''} (the attribute is declared unique)`)
}

/**
 * Moves the resource's rows in the unique index from the values `before` holds to those `after`
 * holds; a value another resource of the organization holds is a 409 (the caller's transaction
 * then rolls back: nothing of the write is kept).
 */
export async function keepUnique(tx: StoreTx, orgId: OrgId, rs: ResourceSchema, id: ResourceId, before: Record<string, unknown> | null, after: Record<string, unknown>): Promise<void> {
  const attrs = uniqueAttributes(rs)
  if (attrs.length === 0) return
  const from = before ? uniqueValuesOf(attrs, before) : []
  const to = uniqueValuesOf(attrs, after)
  if (from.length === 0 && to.length === 0) return
  const conflict = await tx.unique.change(orgId, id, from, to)
  if (!conflict) return
  const v = to.find((x) => x.schema === conflict.entry.schema && x.name === conflict.entry.name && x.key === conflict.entry.key) ?? { ...conflict.entry, value: conflict.entry.key }
  throw taken(rs, v, conflict.holder)
}

/** Attempts of a write whose declarations keep changing under it, before it answers 503. */
const ATTEMPTS = 3

/**
 * Runs a write with the request's resource type; when the organization's declarations changed
 * before it committed (SchemasChanged), runs it again with the current ones.
 */
export async function withCurrentSchemas<T>(deps: Deps, orgId: OrgId, rs: ResourceSchema, write: (rs: ResourceSchema) => Promise<T>): Promise<T> {
  let current = rs
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(current)
    } catch (e) {
      if (!(e instanceof SchemasChanged)) throw e
      if (attempt >= ATTEMPTS) throw new StoreUnavailable(e.message, { cause: e })
      const r = await orgResources(deps, orgId)
      current = rs.kind === 'User' ? r.user : r.group
    }
  }
}
