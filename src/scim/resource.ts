// Resource validation for POST and PUT (RFC 7643 §2, RFC 7644 §3.3 and §3.5.1): turns a client's
// JSON into Roster's internal body — canonical attribute names, extension attributes under their
// schema URN, server-managed and readOnly attributes dropped, `password` and Group `members` set
// apart. The per-attribute type checks are exported for PATCH (patch/apply.ts), so that both
// paths accept exactly the same values.
//
// Choices, each allowed by the RFCs and made for the identity providers we serve:
// - Unknown attributes, unknown sub-attributes and unknown URNs in `schemas` are ignored
//   (RFC 7644 §3.3 lets a service provider ignore what it does not support); `schemas` only has
//   to be an array of strings when present.
// - `id` and `meta` from the client are ignored (RFC 7643 §3.1), as is every other readOnly
//   attribute or sub-attribute (`groups`, `manager.displayName`): RFC 7643 §2.2 says readOnly
//   values SHALL be ignored.
// - A single value sent for a multi-valued attribute is taken as a one-element array.
// - `null`, an empty array and an empty complex value mean "unassigned" (RFC 7643 §2.5) and are
//   dropped from the body.
// - Strings are kept exactly as sent; a required string that is empty or only white space is
//   rejected. The standard schemas' `canonicalValues` are not enforced (RFC 7643 §2.3.1 lets
//   clients send others); an organization's declared attributes enforce theirs and the checks
//   they declare (maximum length, allowed characters, a pattern: schema/declared.ts).
// - Two keys that differ only in case name the same attribute (RFC 7643 §2.1): that is a 400
//   invalidSyntax rather than a silent pick of one of them.
import { ScimError, quote } from './errors.ts'
import { findSchema, findSub, findTopLevel, type ResourceSchema } from './schema/registry.ts'
import type { AttributeDef, AttributeType, SchemaDef } from './schema/types.ts'
import { hasLoneSurrogate } from './unicode.ts'

/** A member of a Group as sent by the client; members live in membership rows, not in the body. */
export interface MemberRef {
  value: string
  type?: 'User' | 'Group'
  display?: string
}

export interface ValidatedResource {
  /** Canonical body without id, meta, schemas, groups, members and password. */
  body: Record<string, unknown>
  /** The cleartext password, for the caller to hash; null when none was sent. */
  password: string | null
  /** Group members when the client sent `members` (possibly empty), else null. */
  members: MemberRef[] | null
  externalId: string | null
  /**
   * Top-level attributes (and extension objects) that no schema declares: SCIM ignores them
   * (RFC 7644 §3.3), but the caller keeps them for the application rather than losing them.
   * Null when there are none.
   */
  unknown: JsonObject | null
  /** What was accepted without a schema (kept or ignored), for the provisioning log. */
  notes: string[]
}

export type JsonObject = Record<string, unknown>

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function invalid(label: string, expected: string, got: unknown): ScimError {
  return new ScimError(400, 'invalidValue', `Attribute "${label}" must be ${expected}, got ${describe(got)}`)
}

/** The value of `obj`'s key equal to `name` ignoring case (RFC 7643 §2.1), or undefined. */
export function getIgnoringCase(obj: JsonObject, name: string): unknown {
  // Most clients spell names as the schema does: look that up first, without allocating.
  if (Object.hasOwn(obj, name)) return obj[name]
  const lower = name.toLowerCase()
  for (const k in obj) if (Object.hasOwn(obj, k) && k.toLowerCase() === lower) return obj[k]
  return undefined
}

// xsd:dateTime (RFC 7643 §2.3.5); the time zone is optional there. The string is kept as sent.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/i

function isDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false
  const m = DATE_TIME.exec(value)
  if (!m || Number.isNaN(Date.parse(value))) return false
  // Date.parse rolls 2024-02-30 over to March; compare the day it kept with the one written.
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  // XML Schema 1.0 has no year zero (and PostgreSQL's timestamptz, which filters read a stored
  // dateTime as, refuses it).
  if (y === 0) return false
  return new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d
}

const isString = (v: unknown): boolean => typeof v === 'string'

// RFC 7643 §2.3: what each simple type looks like in JSON. `binary` is base64 text and
// `reference` a URI; both are kept as strings without further parsing.
const SIMPLE: Readonly<Record<Exclude<AttributeType, 'complex'>, readonly [string, (v: unknown) => boolean]>> = {
  string: ['a string', isString],
  boolean: ['a boolean (true or false)', (v) => typeof v === 'boolean'],
  integer: ['an integer', (v) => Number.isInteger(v)],
  decimal: ['a number', (v) => typeof v === 'number' && Number.isFinite(v)],
  dateTime: ['an ISO 8601 dateTime string', isDateTime],
  reference: ['a reference (string)', isString],
  binary: ['base64 binary (string)', isString],
}

/** A duplicate-name guard for one JSON object: names arrive in any case, canonical names come out. */
function onceEach(where: string): (canonical: string) => void {
  const seen = new Set<string>()
  return (canonical) => {
    if (seen.has(canonical)) {
      throw new ScimError(400, 'invalidSyntax', `Attribute "${canonical}" appears more than once in ${where} (names are case-insensitive)`)
    }
    seen.add(canonical)
  }
}

function checkComplex(def: AttributeDef, value: unknown, label: string): JsonObject | undefined {
  if (!isObject(value)) throw invalid(label, 'a complex object', value)
  const out: JsonObject = {}
  const once = onceEach(`"${label}"`)
  for (const [key, raw] of Object.entries(value)) {
    const sub = findSub(def, key)
    // Unknown sub-attributes are ignored like unknown attributes; readOnly ones belong to the server.
    if (!sub || sub.mutability === 'readOnly') continue
    once(sub.name)
    const v = checkValue(sub, raw, `${label}.${sub.name}`)
    if (v !== undefined) out[sub.name] = v
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/**
 * Checks one value as if `def` were single-valued (for a multi-valued attribute: one element)
 * and returns it in canonical form, or undefined when it is unassigned.
 */
export function checkSingle(def: AttributeDef, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined
  if (def.type === 'complex') return checkComplex(def, value, label)
  const [expected, ok] = SIMPLE[def.type]
  if (!ok(value)) throw invalid(label, expected, value)
  if (typeof value === 'string' && hasLoneSurrogate(value)) throw invalid(label, 'well-formed Unicode text (it has a lone surrogate)', value)
  if (def.validation && typeof value === 'string') checkDeclared(def, value, label)
  return value
}

/** The checks an organization declared on a string attribute (schema/declared.ts), each refusal naming its rule. */
function checkDeclared(def: AttributeDef, value: string, label: string): void {
  const v = def.validation as NonNullable<AttributeDef['validation']>
  const refuse = (rule: string) => new ScimError(400, 'invalidValue', `Attribute "${label}" ${rule}`)
  // Code points, as a person counts characters (and as RFC 7643's strings are Unicode).
  if (v.maxLength !== undefined && [...value].length > v.maxLength) throw refuse(`must be at most ${v.maxLength} characters long`)
  if (v.allowedCharacters && !v.allowedCharacters.test(value)) throw refuse(`may hold only the characters [${v.allowedCharacters.source.slice(2, -3)}]`)
  if (v.pattern && !v.pattern.test(value)) throw refuse(`must match the pattern ${v.pattern.source}`)
  if (v.canonicalOnly && def.canonicalValues) {
    const ok = def.caseExact ? def.canonicalValues.includes(value) : def.canonicalValues.some((c) => c.toLowerCase() === value.toLowerCase())
    if (!ok) throw refuse(`must be one of ${def.canonicalValues.map((c) => JSON.stringify(c)).join(', ')}`)
  }
}

/**
 * Checks an attribute's value against its definition (RFC 7643 §2.3, §2.4) and returns it in
 * canonical form, or undefined when it is unassigned (null, empty array, empty complex value).
 */
export function checkValue(def: AttributeDef, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined
  if (!def.multiValued) return checkSingle(def, value, label)
  // Lenient: a lone value for a multi-valued attribute is read as a one-element array.
  const list = Array.isArray(value) ? value : [value]
  const out: unknown[] = []
  list.forEach((v, i) => {
    const c = checkSingle(def, v, `${label}[${i}]`)
    if (c !== undefined) out.push(c)
  })
  checkPrimary(out, label)
  return out.length > 0 ? out : undefined
}

/** RFC 7643 §2.4: the primary value "true" MUST appear no more than once in a multi-valued attribute. */
export function checkPrimary(list: readonly unknown[], label: string): void {
  const n = list.filter((e) => isObject(e) && e.primary === true).length
  if (n > 1) {
    throw new ScimError(400, 'invalidValue', `At most one value of "${label}" may have "primary": true (RFC 7643 §2.4); got ${n}`)
  }
}

/** The password attribute: writeOnly (RFC 7643 §4.1.1), never part of the stored body. */
export function isPassword(def: AttributeDef): boolean {
  return def.mutability === 'writeOnly' && def.name === 'password'
}

/** Group `members`: kept in membership rows, never in the body. */
export function isMembers(rs: ResourceSchema, def: AttributeDef): boolean {
  return rs.kind === 'Group' && def.name === 'members' && rs.core.attributes.includes(def)
}

/** Checks a password value; null means "no password". */
export function checkPassword(value: unknown): string | null {
  if (value === null || value === undefined) return null
  if (typeof value !== 'string') throw invalid('password', 'a string', value)
  return value
}

const MEMBER_TYPES: Readonly<Record<string, 'User' | 'Group'>> = { user: 'User', group: 'Group' }

/**
 * Checks Group member references (RFC 7643 §4.2): each an object with a non-empty string
 * `value`; `type` (User or Group, any case) and `display` are optional, `$ref` is ignored.
 * A repeated `value` is kept once.
 */
export function checkMembers(value: unknown, label = 'members'): MemberRef[] {
  if (value === null || value === undefined) return []
  const list = Array.isArray(value) ? value : [value]
  const out: MemberRef[] = []
  const seen = new Set<string>()
  list.forEach((m, i) => {
    const at = `${label}[${i}]`
    if (!isObject(m)) throw invalid(at, 'an object with a "value"', m)
    const id = getIgnoringCase(m, 'value')
    if (typeof id !== 'string' || id === '') throw invalid(`${at}.value`, 'a non-empty string', id)
    const ref: MemberRef = { value: id }
    const type = getIgnoringCase(m, 'type')
    if (type !== undefined && type !== null) {
      const t = typeof type === 'string' ? MEMBER_TYPES[type.toLowerCase()] : undefined
      if (!t) throw invalid(`${at}.type`, '"User" or "Group"', type)
      ref.type = t
    }
    const display = getIgnoringCase(m, 'display')
    if (display !== undefined && display !== null) {
      if (typeof display !== 'string') throw invalid(`${at}.display`, 'a string', display)
      ref.display = display
    }
    if (!seen.has(id)) {
      seen.add(id)
      out.push(ref)
    }
  })
  return out
}

function isBlank(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '')
}

/** RFC 7643 §2.2: required attributes (userName, Group displayName) must have a non-empty value. */
export function checkRequired(rs: ResourceSchema, body: JsonObject): void {
  const missing = (schema: SchemaDef, obj: JsonObject): void => {
    for (const def of schema.attributes) {
      if (def.required && !isMembers(rs, def) && isBlank(obj[def.name])) {
        throw new ScimError(400, 'invalidValue', `Attribute "${def.name}" is required and must not be empty`)
      }
    }
  }
  missing(rs.core, body)
  for (const ext of rs.extensions) {
    const obj = body[ext.id]
    if (isObject(obj)) missing(ext, obj)
  }
}

function checkSchemas(value: unknown): void {
  if (!Array.isArray(value) || !value.every(isString)) {
    throw new ScimError(400, 'invalidSyntax', '"schemas" must be an array of schema URNs')
  }
}

function checkExtension(ext: SchemaDef, value: unknown, notes: string[], kind: string): JsonObject | undefined {
  if (value === null) return undefined
  if (!isObject(value)) throw invalid(ext.id, 'an object of extension attributes', value)
  const out: JsonObject = {}
  const once = onceEach(`"${ext.id}"`)
  for (const [key, raw] of Object.entries(value)) {
    const def = ext.attributes.find((a) => a.name.toLowerCase() === key.toLowerCase())
    if (!def && raw !== null && raw !== undefined) notes.push(`"${ext.id}:${key}" is not declared by the ${kind} schemas: ignored`)
    if (!def || def.mutability === 'readOnly') continue
    once(def.name)
    const v = checkValue(def, raw, `${ext.id}:${def.name}`)
    if (v !== undefined) out[def.name] = v
  }
  return Object.keys(out).length > 0 ? out : undefined
}

/**
 * Validates a resource sent with POST (`create`) or PUT (`replace`) and returns its canonical
 * body with the password and Group members set apart. Both modes check alike: whether an
 * immutable attribute changed can only be decided against the stored resource, by the caller.
 */
export function validateResource(rs: ResourceSchema, input: unknown, _opts: { mode: 'create' | 'replace' }): ValidatedResource {
  if (!isObject(input)) throw new ScimError(400, 'invalidSyntax', `A ${rs.kind} must be a JSON object, got ${describe(input)}`)
  const body: JsonObject = {}
  let password: string | null = null
  let members: MemberRef[] | null = null
  const once = onceEach('the request body')
  let unknown: JsonObject | null = null
  const notes: string[] = []
  for (const [key, value] of coreHoisted(rs, input)) {
    if (key.toLowerCase() === 'schemas') {
      checkSchemas(value)
      continue
    }
    const ext = findSchema(rs, key)
    if (ext && ext !== rs.core) {
      once(ext.id)
      const obj = checkExtension(ext, value, notes, rs.kind)
      if (obj) body[ext.id] = obj
      continue
    }
    const top = findTopLevel(rs, key)
    if (!top) {
      if (value !== null && value !== undefined) {
        (unknown ??= {})[key] = value
        // Users keep them (their customAttributes); groups have nowhere to keep them.
        notes.push(`${quote(key, 256)} is not declared by the ${rs.kind} schemas: ${rs.kind === 'User' ? 'kept as a custom attribute, not returned by SCIM' : 'ignored'}`)
      }
      continue
    }
    const def = top.attr
    once(def.name)
    if (def.mutability === 'readOnly') continue
    if (isMembers(rs, def)) {
      members = checkMembers(value)
    } else if (isPassword(def)) {
      password = checkPassword(value)
    } else {
      const v = checkValue(def, value, def.name)
      if (v !== undefined) body[def.name] = v
    }
  }
  checkRequired(rs, body)
  const externalId = typeof body.externalId === 'string' ? body.externalId : null
  return { body, password, members, externalId, unknown, notes }
}

/**
 * The body's entries, with the core attributes some client libraries nest under the core schema
 * URN as a key ({"urn:…:core:2.0:User": {"userName": …}}) read as if they were at the top level:
 * RFC 7643 §3 puts core attributes at the top level and only extensions under their URN, so the
 * key has no other meaning. A name sent both ways is the usual duplicate (400 invalidSyntax).
 */
function coreHoisted(rs: ResourceSchema, input: JsonObject): [string, unknown][] {
  const entries = Object.entries(input)
  const at = entries.findIndex(([k, v]) => isObject(v) && k.toLowerCase() === rs.core.id.toLowerCase())
  if (at < 0) return entries
  return [...entries.slice(0, at), ...Object.entries(entries[at]?.[1] as JsonObject), ...entries.slice(at + 1)]
}
