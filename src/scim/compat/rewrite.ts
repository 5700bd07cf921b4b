// Identity-provider dialects, applied before the strict core: each function takes a request part
// as parsed JSON, returns it in standard form (RFC 7643/7644), and notes every lenient reading on
// the trace. Nothing here is enabled by a setting: every dialect is accepted on the same tenant URL,
// so an admin who forgets a flag never gets a silently broken sync (issue 3).
//
// Cheap when nothing needs rewriting: the walkers look only at what a rule could apply to and copy
// on write, so a standard request comes back as the very object that came in (never a deep clone),
// and the original stays intact for the provisioning log.
//
// The rules, their sources and their tests are listed in docs/compatibility.md. Readings that stay
// in the core because they are the RFC's own or the only safe one (case-insensitive names, readOnly
// keys ignored in a path-less value, `add` through an unmatched filter, `remove` with a value) are
// listed there too; for `remove` with a value this module only adds the note.
import { parsePatchPath } from '../path.ts'
import { isObject, type JsonObject } from '../resource.ts'
import { findSchema, findSub, findTopLevel, resolveAttr, type ResourceSchema } from '../schema/registry.ts'
import type { AttributeDef, SchemaDef } from '../schema/types.ts'
import { ENTERPRISE_USER_SCHEMA } from '../schema/enterprise-user.ts'
import { addNote, type ScimTrace } from './detect.ts'
import { foldValuePathSubFilter, isBooleanText, readBoolean, readManager, readOp } from './entra.ts'

// The Group schema URN Entra ID adds to a group it creates ([TUTORIAL] "Create Group"): it names
// no schema here, so the core ignores it (RFC 7644 §3.3); it only tells us who is calling.
const ENTRA_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'

function isManager(schema: string | null, def: AttributeDef): boolean {
  return schema === ENTERPRISE_USER_SCHEMA && def.name === 'manager'
}

const needsCache = new WeakMap<AttributeDef, boolean>()

/** Whether a rule can apply to values of `def`: it holds a boolean somewhere. */
function holdsBoolean(def: AttributeDef): boolean {
  let v = needsCache.get(def)
  if (v === undefined) {
    v = def.type === 'boolean' || (def.subAttributes ?? []).some((s) => s.type === 'boolean')
    needsCache.set(def, v)
  }
  return v
}

/** One value (for a multi-valued attribute: one element) of `def`, with its booleans read. */
function readSingle(def: AttributeDef, value: unknown, label: string, trace: ScimTrace): unknown {
  if (def.type === 'boolean') return readBoolean(value, label, trace)
  if (def.type !== 'complex' || !isObject(value)) return value
  let out: JsonObject | null = null
  for (const [k, v] of Object.entries(value)) {
    if (!isBooleanText(v)) continue
    const sub = findSub(def, k)
    if (sub?.type !== 'boolean') continue
    out ??= { ...value }
    out[k] = readBoolean(v, `${label}.${sub.name}`, trace)
  }
  return out ?? value
}

/** A value of `def` (in `schema`) with the rules that apply to it, or the same value. */
function readValue(schema: string | null, def: AttributeDef, value: unknown, label: string, trace: ScimTrace, element = false): unknown {
  if (value === null || value === undefined) return value
  if (isManager(schema, def)) return readManager(value, label, trace)
  if (!holdsBoolean(def)) return value
  if (!def.multiValued || element || !Array.isArray(value)) return readSingle(def, value, label, trace)
  let out: unknown[] | null = null
  value.forEach((e, i) => {
    const r = readSingle(def, e, label, trace)
    if (r !== e) (out ??= [...value])[i] = r
  })
  return out ?? value
}

/** The single extension attribute named `name` when no core or common attribute is. */
function extensionOnly(rs: ResourceSchema, name: string): { ext: SchemaDef; def: AttributeDef } | null {
  if (findTopLevel(rs, name)) return null
  const lower = name.toLowerCase()
  const found = rs.extensions.flatMap((ext) => ext.attributes.filter((a) => a.name.toLowerCase() === lower).map((def) => ({ ext, def })))
  return found.length === 1 ? found[0] ?? null : null
}

/**
 * An extension attribute written flat with its schema URN at the top level of a resource
 * (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department`): the "SCIM v2
 * Mapping" column of the JumpCloud table names them so. RFC 7643 §3 nests them under the URN.
 */
function qualifiedOwner(rs: ResourceSchema, key: string): { ext: SchemaDef; def: AttributeDef } | null {
  const lower = key.toLowerCase()
  if (!lower.startsWith('urn:')) return null
  for (const ext of rs.extensions) {
    const prefix = `${ext.id.toLowerCase()}:`
    if (!lower.startsWith(prefix)) continue
    const name = lower.slice(prefix.length)
    const def = ext.attributes.find((a) => a.name.toLowerCase() === name)
    return def ? { ext, def } : null
  }
  return null
}

/** The key of `obj` equal to `name` ignoring case, if any. */
function keyOf(obj: JsonObject, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name
  const lower = name.toLowerCase()
  for (const k in obj) if (Object.hasOwn(obj, k) && k.toLowerCase() === lower) return k
  return undefined
}

/** An extension's attributes object with the rules applied, or the same object. */
function readExtension(ext: SchemaDef, value: unknown, trace: ScimTrace): unknown {
  if (!isObject(value)) return value
  let out: JsonObject | null = null
  for (const [k, v] of Object.entries(value)) {
    const lower = k.toLowerCase()
    const def = ext.attributes.find((a) => a.name.toLowerCase() === lower)
    if (!def) continue
    const r = readValue(ext.id, def, v, def.name, trace)
    if (r !== v) (out ??= { ...value })[k] = r
  }
  return out ?? value
}

/**
 * Bare enterprise attribute names at the top level of a User (`department`, `manager`,
 * `costCenter`, `organization`, `employeeNumber`, `division`) belong to the enterprise extension,
 * as no core attribute has those names. Entra ID names `manager` bare in a PATCH path ([TUTORIAL]
 * "Example 5") and the JumpCloud table maps `costCenter` and `organization` without the URN.
 */
function moveBareExtensionKey(rs: ResourceSchema, body: JsonObject, out: JsonObject, key: string, trace: ScimTrace): boolean {
  const hit = qualifiedOwner(rs, key) ?? (key.startsWith('urn:') ? null : extensionOnly(rs, key))
  if (!hit) return false
  delete out[key]
  const v = body[key]
  // A null asks for nothing: Entra's create example sends "department":null,"manager":null.
  if (v === null || v === undefined) return true
  const extKey = keyOf(out, hit.ext.id) ?? hit.ext.id
  const ext = out[extKey]
  const name = `${hit.ext.id}:${hit.def.name}`
  if (isObject(ext) && keyOf(ext, hit.def.name) !== undefined) {
    addNote(trace, `top-level "${key}" ignored: ${name} is also sent`)
    return true
  }
  if (ext !== undefined && ext !== null && !isObject(ext)) return true // the core refuses the extension
  out[extKey] = { ...(isObject(ext) ? ext : {}), [hit.def.name]: v }
  addNote(trace, `top-level "${key}" read as ${name}`)
  return true
}

/**
 * A User or Group sent with POST or PUT, with the dialect rules applied: booleans sent as
 * "True"/"False", `manager` as a bare id, enterprise attributes without their URN.
 */
export function rewriteResource(rs: ResourceSchema, body: unknown, trace: ScimTrace): unknown {
  if (!isObject(body)) return body
  let out: JsonObject | null = null
  for (const [key, v] of Object.entries(body)) {
    if (key.toLowerCase() === 'schemas') {
      if (Array.isArray(v) && v.includes(ENTRA_GROUP_SCHEMA)) addNote(trace, `schema ${ENTRA_GROUP_SCHEMA} ignored (Entra ID)`, 'entra')
      continue
    }
    if (findSchema(rs, key)) continue // extensions are read below, once bare keys have moved in
    const top = findTopLevel(rs, key)
    if (top) {
      const r = readValue(top.schema, top.attr, v, top.attr.name, trace)
      if (r !== v) (out ??= { ...body })[key] = r
    } else if (extensionOnly(rs, key) || qualifiedOwner(rs, key)) {
      moveBareExtensionKey(rs, body, (out ??= { ...body }), key, trace)
    }
  }
  const cur = out ?? body
  for (const e of rs.extensions) {
    const k = keyOf(cur, e.id)
    if (k === undefined) continue
    const r = readExtension(e, cur[k], trace)
    if (r !== cur[k]) (out ??= { ...body })[k] = r
  }
  return out ?? body
}

/** A path whose first name is an extension-only attribute, qualified with its schema URN. */
function qualifyPath(rs: ResourceSchema, path: string, trace: ScimTrace): string {
  const m = /^[A-Za-z][\w$-]*/.exec(path)
  if (!m || path.startsWith('urn:') || path.startsWith('URN:')) return path
  const hit = extensionOnly(rs, m[0])
  if (!hit) return path
  const qualified = `${hit.ext.id}:${path}`
  addNote(trace, `path "${path}" read as "${qualified}"`)
  return qualified
}

/** The attribute a PATCH path targets, or null when the core will report the path. */
function targetOf(rs: ResourceSchema, path: string): { schema: string | null; def: AttributeDef; element: boolean } | null {
  let p
  try {
    // Read as normalize.ts reads it (unquoted filter values included); the note is its.
    p = parsePatchPath(path, () => undefined)
  } catch {
    return null
  }
  const r = resolveAttr(rs, p.path)
  if (!r) return null
  if (p.filter !== null && p.subAfterFilter !== null) {
    const sub = findSub(r.attr, p.subAfterFilter)
    return sub ? { schema: r.schema, def: sub, element: true } : null
  }
  return { schema: r.schema, def: r.sub ?? r.attr, element: p.filter !== null }
}

/** Whether a value could need a boolean read: a "True"/"False" string at most two levels down. */
function mayHoldBooleanText(value: unknown, depth = 0): boolean {
  if (isBooleanText(value)) return true
  if (depth >= 2 || typeof value !== 'object' || value === null) return false
  return (Array.isArray(value) ? value : Object.values(value)).some((v) => mayHoldBooleanText(v, depth + 1))
}

/** A path-less add/replace value: its keys read as paths (plain, dotted or schema-qualified). */
function rewritePathless(rs: ResourceSchema, value: JsonObject, trace: ScimTrace): JsonObject {
  let out: JsonObject | null = null
  for (const [key, v] of Object.entries(value)) {
    if (key.toLowerCase() === 'schemas') continue
    const ext = findSchema(rs, key)
    if (ext && ext !== rs.core) {
      const r = readExtension(ext, v, trace)
      if (r !== v) (out ??= { ...value })[key] = r
      continue
    }
    const qualified = qualifyPath(rs, key, trace)
    if (qualified !== key) {
      out ??= { ...value }
      delete out[key]
      out[qualified] = v
    }
    if (v === null || v === undefined || !(/manager/i.test(qualified) || mayHoldBooleanText(v))) continue
    const t = targetOf(rs, qualified)
    if (!t) continue
    const r = readValue(t.schema, t.def, v, t.def.name, trace, t.element)
    if (r !== v) (out ??= { ...value })[qualified] = r
  }
  return out ?? value
}

function rewriteOperation(rs: ResourceSchema, raw: unknown, trace: ScimTrace): unknown {
  if (!isObject(raw)) return raw
  let out: JsonObject | null = null
  const set = (k: string, v: unknown): void => {
    (out ??= { ...raw })[k] = v
  }
  const opKey = keyOf(raw, 'op')
  const op = opKey === undefined ? undefined : readOp(raw[opKey], trace)
  if (opKey !== undefined && op !== raw[opKey]) set(opKey, op)

  const pathKey = keyOf(raw, 'path')
  let path = pathKey === undefined ? undefined : raw[pathKey]
  if (typeof path === 'string' && pathKey !== undefined) {
    const q = qualifyPath(rs, path, trace)
    if (q !== path) set(pathKey, (path = q))
  }

  const valueKey = keyOf(raw, 'value')
  const value = valueKey === undefined ? undefined : raw[valueKey]
  if (valueKey === undefined || value === undefined || value === null) return out ?? raw
  const wholeExt = typeof path === 'string' ? findSchema(rs, path.trim()) : undefined
  if (wholeExt && wholeExt !== rs.core) {
    // A path naming an extension's URN carries that extension's object (patch/normalize.ts).
    const r = readExtension(wholeExt, value, trace)
    if (r !== value) set(valueKey, r)
  } else if (typeof path === 'string') {
    const t = (typeof op === 'string' && op.toLowerCase() === 'remove') || /manager/i.test(path) || mayHoldBooleanText(value) ? targetOf(rs, path) : null
    if (t && typeof op === 'string' && op.toLowerCase() === 'remove') {
      // The core removes the values listed (patch/apply.ts): RFC 7644 §3.5.2.2 would remove them
      // all. [KNOWN] "Requests to remove a group member", without the flag, is this shape.
      if (t.def.multiValued && !t.element && !path.includes('[')) addNote(trace, `remove of "${t.def.name}" with a value read as removing the values listed, not all of them (Entra ID)`)
    } else if (t) {
      const r = readValue(t.schema, t.def, value, t.def.name, trace, t.element)
      if (r !== value) set(valueKey, r)
    }
  } else if ((path === undefined || path === null) && isObject(value)) {
    const r = rewritePathless(rs, value, trace)
    if (r !== value) set(valueKey, r)
  }
  return out ?? raw
}

/** A PatchOp message (RFC 7644 §3.5.2) with the dialect rules applied to each operation. */
export function rewritePatch(rs: ResourceSchema, body: unknown, trace: ScimTrace): unknown {
  if (!isObject(body)) return body
  const opsKey = keyOf(body, 'Operations')
  const ops = opsKey === undefined ? undefined : body[opsKey]
  if (opsKey === undefined || !Array.isArray(ops)) return body
  let out: unknown[] | null = null
  ops.forEach((raw, i) => {
    const r = rewriteOperation(rs, raw, trace)
    if (r !== raw) (out ??= [...ops])[i] = r
  })
  return out ? { ...body, [opsKey]: out } : body
}

/** List query parameters (RFC 7644 §3.4.2) with Entra's filter spellings read. */
export function rewriteListQuery<Q extends Record<string, unknown>>(query: Q, trace: ScimTrace): Q {
  const k = keyOf(query, 'filter')
  const f = k === undefined ? undefined : query[k]
  if (k === undefined || typeof f !== 'string') return query
  // Values without quotes are read by the filter parser itself, in any request (list-query.ts).
  const q = foldValuePathSubFilter(f, trace)
  return q === f ? query : { ...query, [k]: q }
}

/** A SearchRequest body (RFC 7644 §3.4.3) with Entra's filter spellings read. */
export function rewriteSearchRequest(body: unknown, trace: ScimTrace): unknown {
  return isObject(body) ? rewriteListQuery(body, trace) : body
}
