// PATCH application (RFC 7644 §3.5.2.1–3): applies normalised operations, in order, to a copy of
// a resource body. All or nothing: any error throws and the caller keeps its original. Group
// `members` never live in the body; operations on them become a membership delta, so a PATCH
// touches only the member rows it names (docs/architecture.md, "hard parts"). This file runs the
// operations in order; where each lands is target.ts, what it does to values is values.ts, to
// members members.ts, to undeclared attributes undeclared.ts.
//
// Choices:
// - `add` or `replace` of a single-valued complex attribute merges the sub-attributes sent and
//   leaves the others (RFC 7644 §3.5.2.3); a sub-attribute sent as null is unassigned.
// - `add` to a multi-valued attribute appends, skipping values equal to one already there.
// - `add` with a value filter that matches nothing creates a value holding the filter's `eq`
//   terms plus the value sent: Microsoft Entra ID sends
//   {"op":"Add","path":"emails[type eq \"work\"].value","value":"x"} to a user without a work
//   email and expects one ("Develop and plan provisioning for a SCIM endpoint in Microsoft Entra
//   ID", learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
//   `replace` through such a filter does the same: Entra ID sends either op for a value the user
//   does not have yet ("In practice though, it could be either, … so you should support both",
//   Microsoft Q&A 1373350), e.g. {"op":"Replace","path":"addresses[type eq \"work\"].formatted",
//   "value":"x"} to a user without a work address, and Microsoft's answer is that the address is
//   created (Microsoft Q&A 120490). RFC 7644 §3.5.2.3's noTarget stays for a filter whose terms
//   cannot say what a new value would hold (not only `eq` joined by `and`).
// - `remove` of something already absent, or with a filter that matches nothing, succeeds and
//   changes nothing: identity providers retry, and the result is what they asked for.
// - `remove` with a value on a multi-valued attribute (Entra and Okta) removes the values whose
//   `value` sub-attribute equals one sent (case-insensitively where the schema says so).
// - Setting a value's `primary` to true clears it on the others (RFC 7643 §2.4); the key is
//   deleted, as unassigned means false.
// - A path naming a readOnly attribute (id, meta, groups) is 400 mutability (RFC 7644 §3.5.2),
//   but in a path-less value readOnly keys are ignored, as in a full representation (RFC 7643
//   §2.2): Okta renames a group with {"op":"replace","value":{"id":"...","displayName":"..."}}
//   ("Okta and SCIM Version 2.0", developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20).
// - Keys in a path-less value may be plain, dotted (`name.givenName`), schema-qualified
//   (`urn:...:enterprise:2.0:User:department`) or an extension URN holding an object; `schemas`
//   is skipped.
// - A path (or path-less key) naming an attribute no schema declares is accepted, as a create
//   accepts it (RFC 7644 §3.3 lets a service provider ignore what it does not support): an
//   undeclared top-level attribute, or one under an undeclared schema URN, is kept apart from the
//   SCIM body (`custom`, the user's customAttributes); an undeclared sub-attribute, or an
//   undeclared attribute of a declared extension, is ignored. Both are noted (`notes`). A value
//   filter on an undeclared attribute stays 400 invalidPath: there is no schema to read it by.
// - A path equal to an extension's schema URN addresses the extension object as a whole
//   (normalize.ts): `add` merges its attributes, `replace` replaces the object, `remove` removes it.
// - A members delta keeps the operations' order: after "add x, remove x" x is in `remove`
//   (absent afterwards, whether or not it was a member before).
import { isDeepStrictEqual } from 'node:util'
import { ScimError } from '../errors.ts'
import type { AttrPath, Filter } from '../filter/ast.ts'
import { checkPassword, checkRequired, isMembers, isObject, isPassword, type JsonObject } from '../resource.ts'
import { findSchema, type ResourceSchema } from '../schema/registry.ts'
import { memberOp, toDelta, type Delta, type MemberDelta } from './members.ts'
import type { PatchOperation } from './normalize.ts'
import { expandPathless, resolveTarget, type Kind, type Target } from './target.ts'
import { applyUndeclared, undeclared } from './undeclared.ts'
import { applyMulti, applySingle } from './values.ts'

export interface PatchResult {
  body: Record<string, unknown>
  /** The undeclared attributes after the PATCH (see the header), or undefined when unchanged. */
  custom: Record<string, unknown> | null | undefined
  /** What the PATCH accepted without a schema for it, for the provisioning log. */
  notes: string[]
  /** The new cleartext password, null when removed, undefined when unchanged. */
  password: string | null | undefined
  members: MemberDelta | null
  /** False when nothing would change, so the caller can skip the write. */
  changed: boolean
}

interface State {
  readonly rs: ResourceSchema
  readonly body: JsonObject
  password: string | null | undefined
  delta: Delta | null
  /** Undeclared attributes, kept apart from the body; null when the resource keeps none. */
  readonly custom: JsonObject | null
  readonly notes: string[]
}

function applyTo(st: State, kind: Kind, t: Target, value: unknown): void {
  if (isMembers(st.rs, t.attr)) {
    st.delta = memberOp(st.delta, kind, t, value)
    return
  }
  if (isPassword(t.attr)) {
    st.password = kind === 'remove' ? null : checkPassword(value)
    return
  }
  let c = st.body
  if (t.schema !== null) {
    const ext = st.body[t.schema]
    if (!isObject(ext) && kind === 'remove') return
    c = isObject(ext) ? ext : (st.body[t.schema] = {})
  }
  if (t.attr.multiValued) applyMulti(st.rs, kind, t, c, value)
  else applySingle(kind, t, c, value)
  if (t.schema !== null && Object.keys(c).length === 0) delete st.body[t.schema]
}

/**
 * Applies PATCH operations in order to a copy of `body` (RFC 7644 §3.5.2). Throws a ScimError,
 * leaving `body` untouched, if any operation fails.
 */
export function applyPatch(rs: ResourceSchema, body: Record<string, unknown>, ops: readonly PatchOperation[], custom?: Record<string, unknown> | null): PatchResult {
  const keepsCustom = custom !== undefined
  const st: State = { rs, body: structuredClone(body), password: undefined, delta: null, custom: keepsCustom ? structuredClone(custom ?? {}) : null, notes: [] }
  const at = (path: AttrPath, filter: Filter | null, kind: Kind, value: unknown): boolean => {
    const u = undeclared(rs, path, filter)
    if (u) applyUndeclared(st, kind, u, value)
    return u !== null
  }
  for (const op of ops) {
    if (op.extension !== undefined) {
      removeExtension(st, op.extension)
      continue
    }
    if (op.path !== null) {
      if (at(op.path.path, op.path.filter, op.op, op.value)) continue
      applyTo(st, op.op, resolveTarget(rs, op.path.path, op.path.filter, op.path.subAfterFilter), op.value)
      continue
    }
    // RFC 7644 §3.5.2.1 and §3.5.2.3: without a path the value is a set of attributes.
    if (op.op === 'remove') throw new ScimError(400, 'noTarget', '"remove" needs a "path"')
    if (!isObject(op.value)) throw new ScimError(400, 'invalidValue', `"${op.op}" without a "path" needs an object of attributes`)
    for (const item of expandPathless(rs, op.value)) {
      if (at(item.path, null, op.op, item.value)) continue
      const t = resolveTarget(rs, item.path, null, null, true)
      if (t) applyTo(st, op.op, t, item.value)
    }
  }
  checkRequired(rs, st.body)
  const members = toDelta(st.delta)
  const customOut = keepsCustom && !isDeepStrictEqual(st.custom ?? {}, custom ?? {}) ? orNull(st.custom) : undefined
  const changed = st.password !== undefined || members !== null || !isDeepStrictEqual(st.body, body) || customOut !== undefined
  return { body: st.body, password: st.password, members, changed, custom: customOut, notes: st.notes }
}

function orNull(obj: JsonObject | null): JsonObject | null {
  return obj !== null && Object.keys(obj).length > 0 ? obj : null
}

/** `remove` with an extension's URN as its path: every attribute of that extension goes. */
function removeExtension(st: State, uri: string): void {
  const ext = findSchema(st.rs, uri)
  const obj = ext ? st.body[ext.id] : undefined
  if (!ext || !isObject(obj)) return
  for (const def of ext.attributes) {
    if (obj[def.name] === undefined || def.mutability === 'readOnly') continue
    applyTo(st, 'remove', { schema: ext.id, attr: def, sub: null, filter: null, label: `${ext.id}:${def.name}` }, undefined)
  }
}
