// Operations on attribute values, declared ones in the body (RFC 7644 §3.5.2.1–3): a single
// value set, merged or unset; a multi-valued attribute appended to, replaced, removed from, or
// changed through a value filter (which may create the value it names: apply.ts's header). An
// immutable attribute, once set, is refused a change (RFC 7643 §2.2); `primary` is settled.
import { isDeepStrictEqual } from 'node:util'
import { ScimError, quote } from '../errors.ts'
import type { AttrPath, Filter } from '../filter/ast.ts'
import { matchesFilter } from '../filter/evaluate.ts'
import { fold } from '../fold.ts'
import { checkPrimary, checkSingle, checkValue, getIgnoringCase, isObject, type JsonObject } from '../resource.ts'
import { findSub, type ResourceSchema } from '../schema/registry.ts'
import type { AttributeDef } from '../schema/types.ts'
import type { Kind, Target } from './target.ts'

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

/** `kind` on a single-valued attribute (or a sub-attribute of one) in the object `c`. */
export function applySingle(kind: Kind, t: Target, c: JsonObject, value: unknown): void {
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

/** `kind` on a multi-valued attribute in the object `c`, through the target's filter and sub-attribute when it has them. */
export function applyMulti(rs: ResourceSchema, kind: Kind, t: Target, c: JsonObject, value: unknown): void {
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
