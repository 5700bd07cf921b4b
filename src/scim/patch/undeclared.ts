// PATCH paths naming no declared attribute (RFC 7644 §3.3 lets a service provider ignore what it
// does not support; apply.ts's header says which are kept): an undeclared top-level attribute,
// or one under an undeclared schema URN, is kept in `custom` (the user's customAttributes) as
// sent; the others are ignored; both are noted for the provisioning log.
import { isDeepStrictEqual } from 'node:util'
import { quote } from '../errors.ts'
import { pathText, type AttrPath, type Filter } from '../filter/ast.ts'
import { isObject, type JsonObject } from '../resource.ts'
import { findSchema, findTopLevel, resolveAttr, type ResourceSchema } from '../schema/registry.ts'
import { invalidPath, type Kind } from './target.ts'

/** Where an operation on an undeclared attribute lands: a key path inside `custom`, or nowhere. */
export interface Undeclared {
  readonly keys: readonly string[] | null
  readonly label: string
}

/** What an operation on an undeclared attribute changes: the kept attributes, and the notes. */
export interface CustomState {
  readonly rs: ResourceSchema
  /** Undeclared attributes, kept apart from the body; null when the resource keeps none. */
  readonly custom: JsonObject | null
  readonly notes: string[]
}

/**
 * A path naming no declared attribute: kept in `custom` when it is a top-level name or sits under
 * an undeclared schema URN, else (an undeclared sub-attribute, or an undeclared attribute of a
 * declared extension) ignored. Null when the path does name a declared attribute.
 */
export function undeclared(rs: ResourceSchema, path: AttrPath, filter: Filter | null): Undeclared | null {
  if (resolveAttr(rs, path)) return null
  const label = pathText(path)
  if (filter !== null) throw invalidPath(`${quote(label)} is not an attribute of a ${rs.kind}, so it cannot take a value filter`)
  const tail = path.sub === null ? [path.name] : [path.name, path.sub]
  // `schemas` is the message's own, not an attribute to keep (a path-less value skips it too).
  if (path.uri === null) return { keys: findTopLevel(rs, path.name) || path.name.toLowerCase() === 'schemas' ? null : tail, label }
  return { keys: findSchema(rs, path.uri) ? null : [path.uri, ...tail], label }
}

/** An operation on an undeclared attribute: kept in `custom` (values as sent), or ignored. */
export function applyUndeclared(st: CustomState, kind: Kind, u: Undeclared, value: unknown): void {
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
