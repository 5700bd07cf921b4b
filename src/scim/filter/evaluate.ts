// The reference filter evaluator: decides RFC 7644 §3.4.2.2 filters over a resource in wire form
// (`{ id, userName, name: {...}, emails: [...], meta: {...}, "urn:...:enterprise:2.0:User": {...} }`).
// It is the oracle store/kysely/filter-to-sql.ts is tested against, so every choice is here:
//
// - Names resolve through schema/registry.ts resolveAttr; an unknown attribute, a `returned:
//   never` one (password) or a value of the wrong type for the attribute is 400 invalidFilter.
//   The whole filter is checked before any resource is looked at, so an error never depends on
//   the data or on `and`/`or` short-circuiting.
// - The comparison type is the resolved leaf attribute's. Strings (and references, binary) with
//   caseExact false compare fold(a) with fold(b) (fold.ts); gt/ge/lt/le order by UTF-16 code
//   units of the (folded) strings. `co`/`sw`/`ew` are literal substring/prefix/suffix tests: `%`,
//   `_` and `\` are ordinary characters. `co ""` (and sw/ew) means "present".
// - dateTime compares instants (Date.parse of both sides); a filter value that does not parse is
//   400, a stored value that does not parse matches nothing. Numbers compare numerically.
//   Booleans take only eq/ne. co/sw/ew on boolean, number or dateTime is 400.
// - `pr`: present means not undefined/null, not "", not an empty array (nor one of absent
//   elements), and for a complex value an object with at least one present member.
// - `x eq null` is exactly `not (x pr)` and `x ne null` exactly `x pr`, complex `x` included
//   (the RFC gives null no meaning in a comparison); any other operator with null is 400.
// - Multi-valued attributes: a comparison matches if ANY element matches; `emails eq "x"` with no
//   sub-attribute compares each element's `value`. `ne` is NOT(any element eq), so it matches
//   when no element equals, including when there are none. For a single-valued attribute `ne`
//   is `not eq` too, so an absent attribute matches `ne`. `emails.type eq null` holds when no
//   email has a type, and `emails eq null` when there is no (present) email.
// - Other operators need a present value of the right type: an absent attribute, or a stored
//   value of another JSON type, never matches eq/co/sw/ew/gt/ge/lt/le.
// - `attr[filter]` holds when some element of the multi-valued `attr` satisfies `filter`, whose
//   names are sub-attributes of `attr`; a value filter on a single-valued attribute is 400.
// - A complex attribute takes only `pr` (or a value filter when multi-valued); comparing it is 400,
//   unless it has a `value` sub-attribute, which is then compared (`manager eq "id"`, as for a
//   multi-valued `emails eq "x"`).
// - A bare name no core attribute has and exactly one extension declares (`manager`) names that
//   extension's attribute (registry.ts resolveFilterAttr).
import { ScimError, quote } from '../errors.ts'
import { fold } from '../fold.ts'
import { findSub, resolveFilterAttr, type ResolvedAttr, type ResourceSchema } from '../schema/registry.ts'
import type { AttributeDef } from '../schema/types.ts'
import { pathText, type AttrPath, type CompValue, type CompareOp, type Filter } from './ast.ts'

type Resource = Record<string, unknown>
type Test = (value: unknown) => boolean
type Leaf = Extract<Filter, { kind: 'compare' } | { kind: 'present' }>

function invalid(detail: string): never {
  throw new ScimError(400, 'invalidFilter', detail)
}

/** Reads `name` from an object, preferring the exact key, else any spelling of it. */
function field(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined
  const rec = obj as Record<string, unknown>
  if (Object.hasOwn(rec, name)) return rec[name]
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(rec)) if (k.toLowerCase() === lower) return v
  return undefined
}

function elements(v: unknown): readonly unknown[] {
  if (v === undefined || v === null) return []
  return Array.isArray(v) ? v : [v]
}

/** RFC 7644 §3.4.2.2 `pr`: has a non-empty value. */
export function isPresent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false
  if (Array.isArray(v)) return v.some(isPresent)
  if (typeof v === 'object') return Object.values(v).some(isPresent)
  return true
}

function ordered(op: CompareOp, a: string | number, b: string | number): boolean {
  switch (op) {
    case 'eq':
      return a === b
    case 'gt':
      return a > b
    case 'ge':
      return a >= b
    case 'lt':
      return a < b
    case 'le':
      return a <= b
    default:
      return false
  }
}

/**
 * The positive test a single value must pass for `value <op> literal` on attribute `a`; `ne` and
 * null are handled by the caller as negations. Checks the literal's type and the operator.
 */
export function compareValueFor(a: AttributeDef, op: Exclude<CompareOp, 'ne'>, literal: Exclude<CompValue, null>): Test {
  const name = quote(a.name)
  const substring = op === 'co' || op === 'sw' || op === 'ew'
  switch (a.type) {
    case 'string':
    case 'reference':
    case 'binary': {
      if (typeof literal !== 'string') invalid(`Expected a string to compare with ${name}`)
      const norm = a.caseExact ? (x: string) => x : fold
      const b = norm(literal)
      if (substring && b === '') return isPresent
      return (v) => {
        if (typeof v !== 'string') return false
        const x = norm(v)
        return op === 'co' ? x.includes(b) : op === 'sw' ? x.startsWith(b) : op === 'ew' ? x.endsWith(b) : ordered(op, x, b)
      }
    }
    case 'boolean':
      if (typeof literal !== 'boolean') invalid(`Expected true or false to compare with ${name}`)
      // RFC 7644 §3.4.2.2: gt/ge/lt/le on a boolean is an error; so are co/sw/ew.
      if (op !== 'eq') invalid(`Operator ${op} is not defined on boolean ${name}`)
      return (v) => v === literal
    case 'integer':
    case 'decimal':
      if (typeof literal !== 'number') invalid(`Expected a number to compare with ${name}`)
      if (substring) invalid(`Operator ${op} is not defined on number ${name}`)
      return (v) => typeof v === 'number' && ordered(op, v, literal)
    case 'dateTime': {
      const t = typeof literal === 'string' ? Date.parse(literal) : NaN
      if (Number.isNaN(t)) invalid(`Expected a dateTime to compare with ${name}, got ${quote(literal)}`)
      if (substring) invalid(`Operator ${op} is not defined on dateTime ${name}`)
      return (v) => {
        const x = typeof v === 'string' ? Date.parse(v) : NaN
        return !Number.isNaN(x) && ordered(op, x, t)
      }
    }
    case 'complex':
      return invalid(`Attribute ${name} is complex; compare one of its sub-attributes`)
  }
}

/** A leaf as a test on one value plus whether to negate the quantified result. */
function leafTest(a: AttributeDef, f: Leaf): { test: Test; negate: boolean } {
  if (f.kind === 'present') return { test: isPresent, negate: false }
  if (f.value === null) {
    if (f.op === 'eq') return { test: isPresent, negate: true }
    if (f.op === 'ne') return { test: isPresent, negate: false }
    return invalid(`Operator ${f.op} cannot compare with null`)
  }
  if (f.op === 'ne') return { test: compareValueFor(a, 'eq', f.value), negate: true }
  return { test: compareValueFor(a, f.op, f.value), negate: false }
}

function resolve(rs: ResourceSchema, path: AttrPath): ResolvedAttr {
  const r = resolveFilterAttr(rs, path)
  if (!r) return invalid(`Unknown attribute ${quote(pathText(path))} in filter`)
  if (r.attr.returned === 'never' || r.sub?.returned === 'never') invalid(`Attribute ${quote(r.attr.name)} cannot be used in a filter`)
  return r
}

/** The top-level value of a resolved attribute: extension attributes live under their URN. */
function topValue(rs: ResourceSchema, resource: Resource, r: ResolvedAttr): unknown {
  const container = r.schema !== null && r.schema !== rs.core.id ? field(resource, r.schema) : resource
  return field(container, r.attr.name)
}

function compileLeaf(rs: ResourceSchema, f: Leaf): (resource: Resource) => boolean {
  const r = resolve(rs, f.path)
  // `x eq null` is exactly `not (x pr)` and `x ne null` exactly `x pr`, on any attribute.
  if (f.kind === 'compare' && f.value === null && (f.op === 'eq' || f.op === 'ne')) {
    const p = compileLeaf(rs, { kind: 'present', path: f.path })
    return f.op === 'eq' ? (res) => !p(res) : p
  }
  if (r.attr.multiValued) {
    // `emails eq "x"` compares each element's `value`; `emails pr` asks for any present element.
    const sub = r.sub ?? (r.attr.type === 'complex' && f.kind === 'compare' ? findSub(r.attr, 'value') ?? null : null)
    if (r.attr.type === 'complex' && f.kind === 'compare' && sub === null) invalid(`Attribute ${quote(r.attr.name)} is complex; compare one of its sub-attributes`)
    const { test, negate } = leafTest(sub ?? r.attr, f)
    const pick = sub ? (el: unknown) => field(el, sub.name) : (el: unknown) => el
    return (resource) => elements(topValue(rs, resource, r)).some((el) => test(pick(el))) !== negate
  }
  // A single-valued complex attribute with a `value` compares it, as a multi-valued one does:
  // `manager eq "id"` is `manager.value eq "id"` (Entra ID filters on the manager so).
  if (r.sub === null && r.attr.type === 'complex' && f.kind === 'compare' && findSub(r.attr, 'value')) {
    return compileLeaf(rs, { ...f, path: { ...f.path, sub: 'value' } })
  }
  const a = r.sub ?? r.attr
  if (a.type === 'complex' && f.kind === 'compare') invalid(`Attribute ${quote(a.name)} is complex; compare one of its sub-attributes`)
  const { test, negate } = leafTest(a, f)
  const sub = r.sub
  return (resource) => {
    const top = topValue(rs, resource, r)
    return test(sub ? field(top, sub.name) : top) !== negate
  }
}

/** Compiles the filter inside `attr[...]` to a test on one element. */
function compileElement(parent: AttributeDef, f: Filter): Test {
  switch (f.kind) {
    case 'and': {
      const parts = f.filters.map((x) => compileElement(parent, x))
      return (el) => parts.every((p) => p(el))
    }
    case 'or': {
      const parts = f.filters.map((x) => compileElement(parent, x))
      return (el) => parts.some((p) => p(el))
    }
    case 'not': {
      const inner = compileElement(parent, f.filter)
      return (el) => !inner(el)
    }
    case 'valuePath':
      return invalid('A value filter cannot contain another value filter')
    case 'present':
    case 'compare': {
      if (f.path.uri !== null || f.path.sub !== null) invalid(`Expected a sub-attribute of ${quote(parent.name)}, got ${quote(pathText(f.path))}`)
      const sub = findSub(parent, f.path.name)
      if (!sub) return invalid(`Unknown sub-attribute ${quote(f.path.name)} of ${quote(parent.name)}`)
      if (sub.returned === 'never') invalid(`Attribute ${quote(sub.name)} cannot be used in a filter`)
      if (sub.type === 'complex' && f.kind === 'compare') invalid(`Sub-attribute ${quote(sub.name)} is complex`)
      const { test, negate } = leafTest(sub, f)
      return (el) => test(field(el, sub.name)) !== negate
    }
    default: {
      const never: never = f
      return never
    }
  }
}

/** Checks `filter` against the schema once and returns a predicate over resources in wire form. */
export function compileFilter(rs: ResourceSchema, filter: Filter): (resource: Resource) => boolean {
  switch (filter.kind) {
    case 'and': {
      const parts = filter.filters.map((x) => compileFilter(rs, x))
      return (res) => parts.every((p) => p(res))
    }
    case 'or': {
      const parts = filter.filters.map((x) => compileFilter(rs, x))
      return (res) => parts.some((p) => p(res))
    }
    case 'not': {
      const inner = compileFilter(rs, filter.filter)
      return (res) => !inner(res)
    }
    case 'present':
    case 'compare':
      return compileLeaf(rs, filter)
    case 'valuePath': {
      const r = resolve(rs, filter.path)
      if (!r.attr.multiValued || r.sub !== null) invalid(`${quote(pathText(filter.path))} is not a multi-valued attribute`)
      const inner = compileElement(r.attr, filter.filter)
      return (res) => elements(topValue(rs, res, r)).some(inner)
    }
    default: {
      const never: never = filter
      return never
    }
  }
}

/** Whether `resource` (wire form) satisfies `filter`; a filter that does not fit the schema is 400 invalidFilter. */
export function matchesFilter(rs: ResourceSchema, resource: Resource, filter: Filter): boolean {
  return compileFilter(rs, filter)(resource)
}
