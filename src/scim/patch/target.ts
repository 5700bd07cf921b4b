// Where a PATCH operation lands (RFC 7644 §3.5.2): its path resolved against the resource's
// schemas to a declared attribute, sub-attribute and value filter, with the canonical names the
// body uses; and a path-less value's keys read as such paths.
import { ScimError, quote } from '../errors.ts'
import { pathText, type AttrPath, type Filter } from '../filter/ast.ts'
import { isObject, type JsonObject } from '../resource.ts'
import { findSchema, findSub, resolveAttr, type ResourceSchema } from '../schema/registry.ts'
import type { AttributeDef } from '../schema/types.ts'
import type { PatchOperation } from './normalize.ts'

export type Kind = PatchOperation['op']

/** Where an operation lands, with canonical names. `schema` is null for core and common attributes. */
export interface Target {
  readonly schema: string | null
  readonly attr: AttributeDef
  readonly sub: AttributeDef | null
  readonly filter: Filter | null
  readonly label: string
}

export const invalidPath = (detail: string): ScimError => new ScimError(400, 'invalidPath', detail)

/** Resolves a path to its target; a readOnly target is 400 mutability, or null when `skipReadOnly`. */
export function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null, skipReadOnly: true): Target | null
export function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null): Target
export function resolveTarget(rs: ResourceSchema, path: AttrPath, filter: Filter | null, subAfterFilter: string | null, skipReadOnly = false): Target | null {
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
export function expandPathless(rs: ResourceSchema, value: JsonObject): { path: AttrPath; value: unknown }[] {
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
