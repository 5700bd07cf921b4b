// PATCH application (RFC 7644 §3.5.2.1–3): applies normalised operations, in order, to a copy of
// a resource body. All or nothing: any error throws and the caller keeps its original. Group
// `members` never live in the body; operations on them become a membership delta, so a PATCH
// touches only the member rows it names (docs/architecture.md, "hard parts").
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
import { ScimError, quote } from '../errors.ts'
import type { AttrPath, Filter } from '../filter/ast.ts'
import { matchesFilter } from '../filter/evaluate.ts'
import { fold } from '../fold.ts'
import {
  checkMembers, checkPassword, checkPrimary, checkRequired, checkSingle, checkValue, getIgnoringCase, isMembers, isObject,
  isPassword, type JsonObject, type MemberRef,
} from '../resource.ts'
import { findSchema, findSub, findTopLevel, resolveAttr, type ResourceSchema } from '../schema/registry.ts'
import type { AttributeDef } from '../schema/types.ts'
import type { PatchOperation } from './normalize.ts'

/** Membership changes a PATCH makes to a Group; the store applies removals before additions. */
export interface MemberDelta {
  replaceAll: MemberRef[] | null
  add: MemberRef[]
  remove: string[]
  removeAll: boolean
}

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

type Kind = PatchOperation['op']

/** Where an operation lands, with canonical names. `schema` is null for core and common attributes. */
interface Target {
  readonly schema: string | null
  readonly attr: AttributeDef
  readonly sub: AttributeDef | null
  readonly filter: Filter | null
  readonly label: string
}

interface Delta {
  replaceAll: Map<string, MemberRef> | null
  add: Map<string, MemberRef>
  remove: Set<string>
  removeAll: boolean
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

/** Where an operation on an undeclared attribute lands: a key path inside `custom`, or nowhere. */
interface Undeclared {
  readonly keys: readonly string[] | null
  readonly label: string
}

const invalidPath = (detail: string): ScimError => new ScimError(400, 'invalidPath', detail)

function pathText(p: AttrPath): string {
  return `${p.uri === null ? '' : `${p.uri}:`}${p.name}${p.sub === null ? '' : `.${p.sub}`}`
}

/** Resolves a path to its target; a readOnly target is 400 mutability, or null when `skipReadOnly`. */
/**
 * A path naming no declared attribute: kept in `custom` when it is a top-level name or sits under
 * an undeclared schema URN, else (an undeclared sub-attribute, or an undeclared attribute of a
 * declared extension) ignored. Null when the path does name a declared attribute.
 */
function undeclared(rs: ResourceSchema, path: AttrPath, filter: Filter | null): Undeclared | null {
  if (resolveAttr(rs, path)) return null
  const label = pathText(path)
  if (filter !== null) throw invalidPath(`${quote(label)} is not an attribute of a ${rs.kind}, so it cannot take a value filter`)
  const tail = path.sub === null ? [path.name] : [path.name, path.sub]
  // `schemas` is the message's own, not an attribute to keep (a path-less value skips it too).
  if (path.uri === null) return { keys: findTopLevel(rs, path.name) || path.name.toLowerCase() === 'schemas' ? null : tail, label }
  return { keys: findSchema(rs, path.uri) ? null : [path.uri, ...tail], label }
}

function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null, skipReadOnly: true): Target | null
function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null): Target
function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null, skipReadOnly = false): Target | null {
  const r = resolveAttr(rs, path)
  if (!r) throw invalidPath(`${quote(pathText(path))} is not an attribute of a ${rs.kind}`)
  let sub = r.sub
  if (filter !== null) {
    if (r.attr.type !== 'complex' || !r.attr.multiValued || sub !== null) {
      throw invalidPath(`A value filter needs a multi-valued complex attribute; "${r.attr.name}" is not one`)
    }
    if (subAfterFilter !== null) {
      sub = findSub(r.attr, subAfterFilter) ?? null
      if (!sub) throw invalidPath(`${quote(subAfterFilter)} is not a sub-attribute of "${r.attr.name}"`)
    }
  }
  const label = sub ? `${r.attr.name}.${sub.name}` : r.attr.name
  if (r.attr.mutability === 'readOnly' || sub?.mutability === 'readOnly') {
    if (skipReadOnly) return null
    throw new ScimError(400, 'mutability', `Attribute "${label}" is readOnly (RFC 7643 §2.2) and cannot be modified`)
  }
  return { schema: r.schema !== null && r.schema !== rs.core.id ? r.schema : null, attr: r.attr, sub, filter, label }
}

function splitKey(key: string, uri: string | null): AttrPath {
  const dot = key.indexOf('.')
  return dot < 0 ? { uri, name: key, sub: null } : { uri, name: key.slice(0, dot), sub: key.slice(dot + 1) }
}

/** A path-less add/replace value as (path, value) pairs, its keys read as attribute paths. */
function expandPathless(rs: ResourceSchema, value: JsonObject): { path: AttrPath; value: unknown }[] {
  const out: { path: AttrPath; value: unknown }[] = []
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase()
    if (lower === 'schemas') continue
    const schema = findSchema(rs, key)
    if (schema) {
      if (!isObject(v)) throw new ScimError(400, 'invalidValue', `${quote(key)} must be an object of that schema's attributes`)
      for (const [k, inner] of Object.entries(v)) out.push({ path: splitKey(k, schema.id), value: inner })
      continue
    }
    // A schema URN holds dots ("2.0"), so the schema prefix is matched before splitting on ".".
    const owner = lower.startsWith('urn:') ? [rs.core, ...rs.extensions].find((s) => lower.startsWith(`${s.id.toLowerCase()}:`)) : undefined
    if (lower.startsWith('urn:') && !owner) {
      // An undeclared schema: its object, or one attribute of it named `<urn>:<name>`.
      const colon = key.lastIndexOf(':')
      out.push({ path: isObject(v) ? { uri: key, name: '', sub: null } : { uri: key.slice(0, colon), name: key.slice(colon + 1), sub: null }, value: v })
      continue
    }
    out.push({ path: owner ? splitKey(key.slice(owner.id.length + 1), owner.id) : splitKey(key, null), value: v })
  }
  return out
}

/** Sets (or, with undefined, unsets) an attribute, refusing to change an immutable one once set. */
function put(c: JsonObject, def: AttributeDef, next: unknown, label: string): void {
  const cur = c[def.name]
  if (def.mutability === 'immutable' && cur !== undefined && !isDeepStrictEqual(cur, next)) {
    throw new ScimError(400, 'mutability', `Attribute "${label}" is immutable (RFC 7643 §2.2): it can be set once, not changed or removed`)
  }
  if (next === undefined) delete c[def.name]
  else c[def.name] = next
}

function orUndefined(obj: JsonObject): JsonObject | undefined {
  return Object.keys(obj).length > 0 ? obj : undefined
}

/** RFC 7644 §3.5.2.3: the sub-attributes sent replace theirs; the others stay. */
function mergeComplex(def: AttributeDef, cur: unknown, raw: unknown, label: string): JsonObject | undefined {
  const checked = checkSingle(def, raw, label)
  const next: JsonObject = isObject(cur) ? { ...cur } : {}
  for (const s of def.subAttributes ?? []) {
    const sent = isObject(raw) ? getIgnoringCase(raw, s.name) : undefined
    if (isObject(checked) && checked[s.name] !== undefined) put(next, s, checked[s.name], `${label}.${s.name}`)
    else if (sent === null && s.mutability !== 'readOnly') put(next, s, undefined, `${label}.${s.name}`)
  }
  return orUndefined(next)
}

function withSub(e: JsonObject, sub: AttributeDef, value: unknown, kind: Kind, label: string): JsonObject | undefined {
  const next = { ...e }
  const v = kind === 'remove' ? undefined : checkValue(sub, value, label)
  // `add` of null changes nothing; `replace` with null and `remove` unassign.
  if (v !== undefined || kind !== 'add') put(next, sub, v, label)
  return orUndefined(next)
}

function applySingle(kind: Kind, t: Target, c: JsonObject, value: unknown): void {
  const { attr, sub, label } = t
  if (sub !== null) {
    const cur = c[attr.name]
    put(c, attr, withSub(isObject(cur) ? cur : {}, sub, value, kind, label), label)
  } else if (kind === 'remove' || (kind === 'replace' && value === null)) {
    put(c, attr, undefined, label)
  } else if (value !== null) {
    put(c, attr, attr.type === 'complex' ? mergeComplex(attr, c[attr.name], value, label) : checkSingle(attr, value, label), label)
  }
}

function matchesElement(rs: ResourceSchema, t: Target, filter: Filter, element: JsonObject): boolean {
  const node: Filter = { kind: 'valuePath', path: { uri: t.schema, name: t.attr.name, sub: null }, filter }
  const inner = { [t.attr.name]: [element] }
  return matchesFilter(rs, t.schema === null ? inner : { [t.schema]: inner }, node)
}

function subNamed(attr: AttributeDef, p: AttrPath): AttributeDef | undefined {
  if (p.uri !== null) return undefined
  if (p.sub === null) return findSub(attr, p.name)
  return p.name.toLowerCase() === attr.name.toLowerCase() ? findSub(attr, p.sub) : undefined
}

/** The sub-attribute values a filter's `eq` terms (joined by `and`) pin down, or null if it has others. */
function eqValues(attr: AttributeDef, f: Filter): JsonObject | null {
  switch (f.kind) {
    case 'compare': {
      const s = f.op === 'eq' ? subNamed(attr, f.path) : undefined
      return s ? { [s.name]: f.value } : null
    }
    case 'and': {
      const out: JsonObject = {}
      for (const part of f.filters.map((g) => eqValues(attr, g))) {
        if (part === null) return null
        for (const [k, v] of Object.entries(part)) {
          if (k in out && out[k] !== v) return null
          out[k] = v
        }
      }
      return out
    }
    case 'present': case 'or': case 'not': case 'valuePath':
      return null
    default: {
      const never: never = f
      return never
    }
  }
}

/** A new value for an `add` whose filter matched nothing (see the header for Entra's shape). */
function createElement(t: Target, value: unknown): unknown {
  const seed = t.filter === null ? {} : eqValues(t.attr, t.filter)
  if (seed === null) {
    throw new ScimError(400, 'noTarget', `No value of "${t.attr.name}" matches the filter, and only "eq" terms joined by "and" say what a new value would hold`)
  }
  const sent = t.sub === null ? checkSingle(t.attr, value, t.label) : checkValue(t.sub, value, t.label)
  if (sent === undefined) return undefined
  return checkSingle(t.attr, { ...seed, ...(t.sub === null ? sent as JsonObject : { [t.sub.name]: sent }) }, t.label)
}

function sameValue(attr: AttributeDef, a: unknown, b: unknown): boolean {
  const valueDef = findSub(attr, 'value')
  if (typeof a === 'string' && typeof b === 'string' && valueDef && !valueDef.caseExact) return fold(a) === fold(b)
  return isDeepStrictEqual(a, b)
}

/** Entra/Okta `remove` with a value: drops the values whose `value` equals one sent (else equal values). */
function removeValues(attr: AttributeDef, list: unknown[], value: unknown, label: string): unknown[] {
  const items = Array.isArray(value) ? value : [value]
  return list.filter((e) => !items.some((item) => {
    if (attr.type !== 'complex') return isDeepStrictEqual(e, checkSingle(attr, item, label))
    if (!isObject(item)) throw new ScimError(400, 'invalidValue', `Values to remove from "${label}" must be objects, got ${quote(item)}`)
    const wanted = getIgnoringCase(item, 'value')
    return isObject(e) && (wanted !== undefined ? sameValue(attr, e.value, wanted) : isDeepStrictEqual(e, checkSingle(attr, item, label)))
  }))
}

/** RFC 7643 §2.4: a value this operation made primary takes the flag from the others. */
function settlePrimary(list: unknown[], touched: ReadonlySet<unknown>, label: string): void {
  const winners = list.filter((e) => touched.has(e) && isObject(e) && e.primary === true)
  checkPrimary(winners, label)
  for (const e of list) if (winners.length === 1 && e !== winners[0] && isObject(e) && e.primary === true) delete e.primary
  checkPrimary(list, label)
}

function applyMulti(rs: ResourceSchema, kind: Kind, t: Target, c: JsonObject, value: unknown): void {
  const { attr, sub, filter, label } = t
  const cur = c[attr.name]
  let list: unknown[] = Array.isArray(cur) ? [...cur] : []
  const touched = new Set<unknown>()
  if (filter === null && sub === null) {
    if (kind === 'remove') {
      list = value === undefined || value === null ? [] : removeValues(attr, list, value, label)
    } else {
      const checked = checkValue(attr, value, label)
      const values = Array.isArray(checked) ? checked : []
      if (kind === 'replace') list = values
      for (const v of kind === 'add' ? values : []) {
        if (list.some((e) => isDeepStrictEqual(e, v))) continue
        list.push(v)
        touched.add(v)
      }
    }
  } else {
    // The filter is checked even when there are no values, so its errors never depend on the data.
    if (filter !== null) matchesElement(rs, t, filter, {})
    // `emails.value` without a filter addresses every value, like a filter matching them all.
    const hits = list.map((e) => isObject(e) && (filter === null || matchesElement(rs, t, filter, e)))
    if (kind !== 'remove' && !hits.includes(true)) {
      const created = createElement(t, value)
      if (created !== undefined) list.push(created)
      touched.add(created)
    } else {
      list = list.flatMap((e, i) => {
        if (!hits[i] || !isObject(e)) return [e]
        const next = sub !== null ? withSub(e, sub, value, kind, label)
          : kind === 'remove' ? undefined
            : kind === 'add' ? mergeComplex(attr, e, value, label) : checkSingle(attr, value, label)
        touched.add(next)
        return next === undefined ? [] : [next]
      })
    }
  }
  settlePrimary(list, touched, label)
  put(c, attr, list.length > 0 ? list : undefined, label)
}

function memberIds(f: Filter): string[] {
  if (f.kind === 'or') return f.filters.flatMap(memberIds)
  const p = f.kind === 'compare' ? f.path : null
  const isValue = p !== null && p.uri === null && (p.sub === null ? p.name.toLowerCase() === 'value' : p.name.toLowerCase() === 'members' && p.sub.toLowerCase() === 'value')
  if (f.kind === 'compare' && f.op === 'eq' && typeof f.value === 'string' && isValue) return [f.value]
  throw new ScimError(400, 'invalidFilter', 'A "members" filter may only compare "value" with "eq", joined by "or": members[value eq "id1" or value eq "id2"]')
}

function deltaOf(st: State): Delta {
  return (st.delta ??= { replaceAll: null, add: new Map(), remove: new Set(), removeAll: false })
}

function addMembers(st: State, refs: readonly MemberRef[]): void {
  const d = deltaOf(st)
  const into = d.replaceAll ?? d.add
  for (const r of refs) {
    d.remove.delete(r.value)
    if (!into.has(r.value)) into.set(r.value, r)
  }
}

function removeMembers(st: State, ids: readonly string[]): void {
  const d = deltaOf(st)
  for (const id of ids) {
    d.replaceAll?.delete(id)
    d.add.delete(id)
    if (d.replaceAll === null && !d.removeAll) d.remove.add(id)
  }
}

/** `members` operations become a delta (RFC 7644 §3.5.2; docs/architecture.md, "hard parts"). */
function memberOp(st: State, kind: Kind, t: Target, value: unknown): void {
  if (t.sub !== null) throw new ScimError(400, 'mutability', 'Members\' sub-attributes are immutable; add or remove whole members')
  if (t.filter !== null) {
    if (kind !== 'remove') throw invalidPath('A filter on "members" is accepted only with "remove"; add or replace a list of members instead')
    removeMembers(st, memberIds(t.filter))
  } else if (kind === 'add') {
    addMembers(st, checkMembers(value))
  } else if (value === undefined || value === null) {
    st.delta = { replaceAll: null, add: new Map(), remove: new Set(), removeAll: true }
  } else if (kind === 'replace') {
    st.delta = { replaceAll: new Map(checkMembers(value).map((m) => [m.value, m])), add: new Map(), remove: new Set(), removeAll: false }
  } else {
    removeMembers(st, checkMembers(value).map((m) => m.value))
  }
}

function applyTo(st: State, kind: Kind, t: Target, value: unknown): void {
  if (isMembers(st.rs, t.attr)) return memberOp(st, kind, t, value)
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

function toDelta(d: Delta | null): MemberDelta | null {
  if (d === null || (d.replaceAll === null && !d.removeAll && d.add.size === 0 && d.remove.size === 0)) return null
  const replaceAll = d.replaceAll ? [...d.replaceAll.values()] : null
  return { replaceAll, add: [...d.add.values()], remove: [...d.remove], removeAll: d.removeAll }
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

/** An operation on an undeclared attribute: kept in `custom` (values as sent), or ignored. */
function applyUndeclared(st: State, kind: Kind, u: Undeclared, value: unknown): void {
  if (u.keys === null || st.custom === null) {
    const note = `${quote(u.label, 256)} is not declared by the ${st.rs.kind} schemas: ignored`
    if (!st.notes.includes(note)) st.notes.push(note)
    return
  }
  const note = `${quote(u.label, 256)} is not declared by the ${st.rs.kind} schemas: kept as a custom attribute, not returned by SCIM`
  if (!st.notes.includes(note)) st.notes.push(note)
  // `<urn>` alone (a path-less key holding an undeclared schema's object) has an empty last key.
  const keys = u.keys[u.keys.length - 1] === '' ? u.keys.slice(0, -1) : u.keys
  const parents = keys.slice(0, -1)
  const last = keys[keys.length - 1] as string
  let c: JsonObject = st.custom
  const chain: JsonObject[] = [c]
  for (const k of parents) {
    const next = c[k]
    if (!isObject(next)) {
      if (kind === 'remove') return
      c[k] = {}
    }
    c = c[k] as JsonObject
    chain.push(c)
  }
  const cur = c[last]
  if (kind === 'remove' || value === null || (kind === 'replace' && value === undefined)) delete c[last]
  else if (kind === 'add' && Array.isArray(cur)) c[last] = [...cur, ...(Array.isArray(value) ? value : [value]).filter((v) => !cur.some((e) => isDeepStrictEqual(e, v)))]
  else if (kind === 'add' && isObject(cur) && isObject(value)) c[last] = { ...cur, ...value }
  else c[last] = structuredClone(value)
  // Objects left empty by a remove go too, as an unassigned value does (RFC 7643 §2.5).
  for (let i = parents.length - 1; i >= 0; i--) {
    const holder = chain[i] as JsonObject
    const k = parents[i] as string
    if (isObject(holder[k]) && Object.keys(holder[k] as JsonObject).length === 0) delete holder[k]
  }
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
