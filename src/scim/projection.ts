// Response projection: `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to
// a resource in wire form, under each attribute's `returned` characteristic (RFC 7643 §2.2):
//
// - `never` (password) is never output; `always` (id) is output even when excluded or not named.
//   `schemas` is treated as `always` too: a resource is unreadable without it.
// - `request` is output only when `attributes` names it (or one of its sub-attributes).
// - `default` is output unless `attributes` is given and does not name it (or one of its
//   sub-attributes), or `excludedAttributes` names it.
// - Naming a sub-attribute (`name.givenName`, `emails.value`) keeps only the named sub-attributes
//   of that attribute (of every element, when multi-valued); an object or array left empty is
//   dropped. Excluding a sub-attribute drops just that one.
// - An extension's URN alone (`urn:...:enterprise:2.0:User`) names the whole extension object;
//   `urn:...:enterprise:2.0:User:department` names one attribute inside it.
// - Names match case-insensitively; the output keeps the resource's own spelling. Names that are
//   not attributes of the resource are ignored (the RFC lets a server ignore them).
// - When both lists are given, `attributes` selects first and `excludedAttributes` then removes.
import type { AttrPath } from './filter/ast.ts'
import { ScimError, quote } from './errors.ts'
import { parseAttrPath } from './filter/parser.ts'
import { parsePatchPath } from './path.ts'
import { findSchema, findSub, findTopLevel, resolveAttr, type ResourceSchema } from './schema/registry.ts'
import type { AttributeDef } from './schema/types.ts'

export interface ProjectionOptions {
  readonly attributes?: readonly string[] | null
  readonly excludedAttributes?: readonly string[] | null
}

/** What a list names in one attribute: all of it, or some of its sub-attributes (lower case). */
interface Named {
  all: boolean
  readonly subs: Set<string>
}

/** A parsed list. Containers are '' for core and common attributes, else the extension URN (lower case). */
interface Selection {
  readonly wholeContainers: Set<string>
  readonly attrs: Map<string, Named>
}

const CORE = ''

/**
 * Parses an `attributes`/`excludedAttributes` value: comma separated paths, trimmed; empty means
 * none. Leniency: a value path (`emails[type eq "work"]`, `emails[type eq "work"].value`) is read
 * as the attribute it filters (`emails`, `emails.value`), as Microsoft's reference SCIM server
 * (AzureAD/SCIMReferenceCode) reads it; RFC 7644 §3.4.2.5 lists attribute names only, and the
 * projection applies to every value of the attribute, not to the filtered ones.
 */
export function parseAttributeList(param: string | undefined): string[] | null {
  if (param === undefined) return null
  const names = splitOutsideBrackets(param).map((s) => s.trim()).filter((s) => s !== '')
  if (names.length === 0) return null
  return names.map((n) => {
    if (!n.includes('[')) {
      parseAttrPath(n, 'invalidValue')
      return n
    }
    let p
    try {
      p = parsePatchPath(n)
    } catch (e) {
      throw new ScimError(400, 'invalidValue', `${quote(n)} is not an attribute name or a value path: ${e instanceof ScimError ? e.message : String(e)}`)
    }
    const base = `${p.path.uri === null ? '' : `${p.path.uri}:`}${p.path.name}`
    return p.subAfterFilter === null ? base : `${base}.${p.subAfterFilter}`
  })
}

/** Splits on commas that are outside brackets and string literals (a value filter may hold both). */
function splitOutsideBrackets(text: string): string[] {
  const out: string[] = []
  let depth = 0
  let inString = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '[') depth++
    else if (c === ']') depth = Math.max(0, depth - 1)
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i))
      start = i + 1
    }
  }
  out.push(text.slice(start))
  return out
}

function keyOf(container: string, name: string): string {
  return `${container}\n${name.toLowerCase()}`
}

function containerOf(rs: ResourceSchema, schema: string | null): string {
  return schema === null || schema === rs.core.id ? CORE : schema.toLowerCase()
}

/** parseAttributeList rejects malformed names; one that reaches project() another way names nothing. */
function tryAttrPath(name: string): AttrPath | null {
  try {
    return parseAttrPath(name, 'invalidValue')
  } catch {
    return null
  }
}

function selection(rs: ResourceSchema, list: readonly string[] | null | undefined): Selection | null {
  if (!list || list.length === 0) return null
  const sel: Selection = { wholeContainers: new Set(), attrs: new Map() }
  for (const raw of list) {
    const name = raw.trim()
    const schema = findSchema(rs, name)
    if (schema) {
      sel.wholeContainers.add(containerOf(rs, schema.id))
      continue
    }
    const path = tryAttrPath(name)
    const r = path ? resolveAttr(rs, path) : null
    if (!r) continue
    const key = keyOf(containerOf(rs, r.schema), r.attr.name)
    const named = sel.attrs.get(key) ?? { all: false, subs: new Set<string>() }
    if (r.sub) named.subs.add(r.sub.name.toLowerCase())
    else named.all = true
    sel.attrs.set(key, named)
  }
  return sel
}

const ALL: Named = { all: true, subs: new Set() }

/** How much of attribute `def` (in `container`) the output carries: null for none. */
function decide(def: AttributeDef | undefined, name: string, container: string, inc: Selection | null, exc: Selection | null): { inc: Named; exc: Named | null } | 'whole' | null {
  if (def?.returned === 'never') return null
  if (def?.returned === 'always') return 'whole'
  const key = keyOf(container, def?.name ?? name)
  const explicit = inc?.attrs.get(key)
  let included: Named | undefined
  if (def?.returned === 'request') included = explicit
  else if (inc === null) included = ALL
  else included = inc.wholeContainers.has(container) ? ALL : explicit
  if (!included) return null
  const excluded = exc ? (exc.wholeContainers.has(container) ? ALL : exc.attrs.get(key) ?? null) : null
  if (excluded?.all) return null
  return { inc: included, exc: excluded }
}

function keepSub(sub: AttributeDef | undefined, key: string, inc: Named, exc: Named | null): boolean {
  if (sub?.returned === 'never') return false
  if (sub?.returned === 'always') return true
  const lower = (sub?.name ?? key).toLowerCase()
  if (sub?.returned === 'request' ? !inc.subs.has(lower) : !inc.all && !inc.subs.has(lower)) return false
  return !exc?.subs.has(lower)
}

function projectComplex(def: AttributeDef, value: unknown, inc: Named, exc: Named | null): unknown {
  const one = (obj: unknown): Record<string, unknown> | undefined => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(obj)) if (keepSub(findSub(def, k), k, inc, exc)) out[k] = v
    return Object.keys(out).length > 0 ? out : undefined
  }
  if (Array.isArray(value)) {
    const kept = value.map(one).filter((x) => x !== undefined)
    return kept.length > 0 ? kept : undefined
  }
  return one(value)
}

function projectAttr(def: AttributeDef | undefined, name: string, value: unknown, container: string, inc: Selection | null, exc: Selection | null): unknown {
  const d = decide(def, name, container, inc, exc)
  if (d === null) return undefined
  if (d === 'whole' || def?.type !== 'complex' || !def.subAttributes) return value
  const untouched = d.inc.all && (d.exc === null || d.exc.subs.size === 0) && def.subAttributes.every((s) => s.returned === 'default' || s.returned === 'always')
  return untouched ? value : projectComplex(def, value, d.inc, d.exc)
}

/** Applies `attributes`/`excludedAttributes` to a resource in wire form, per the rules above. */
export function project(rs: ResourceSchema, resource: Record<string, unknown>, opts: ProjectionOptions): Record<string, unknown> {
  const inc = selection(rs, opts.attributes)
  const exc = selection(rs, opts.excludedAttributes)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(resource)) {
    if (key.toLowerCase() === 'schemas') {
      out[key] = value
      continue
    }
    const ext = rs.extensions.find((s) => s.id.toLowerCase() === key.toLowerCase())
    if (ext) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) continue
      const container = ext.id.toLowerCase()
      const sub: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) {
        const def = ext.attributes.find((a) => a.name.toLowerCase() === k.toLowerCase())
        const p = projectAttr(def, k, v, container, inc, exc)
        if (p !== undefined) sub[k] = p
      }
      if (Object.keys(sub).length > 0) out[key] = sub
      continue
    }
    const p = projectAttr(findTopLevel(rs, key)?.attr, key, value, CORE, inc, exc)
    if (p !== undefined) out[key] = p
  }
  return out
}

/** Whether the top-level core attribute `topLevelName` (e.g. `members`, `groups`) would appear in the output at all. */
export function wantsAttribute(rs: ResourceSchema, opts: ProjectionOptions, topLevelName: string): boolean {
  const def = findTopLevel(rs, topLevelName)?.attr
  return decide(def, topLevelName, CORE, selection(rs, opts.attributes), selection(rs, opts.excludedAttributes)) !== null
}
