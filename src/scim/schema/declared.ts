// Extension schemas an organization declares (docs/custom-attributes.md): the attributes its
// identity provider's mapping sends beyond RFC 7643's User and Group, under a URN of the
// organization's choosing, such as Entra ID's
// `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User` ("Customize user
// provisioning attribute-mappings", Microsoft Learn) or an Okta app's custom schema
// ("Add custom attributes to an Okta user profile", Okta developer documentation).
//
// A declaration is RFC 7643 §7's schema representation (id, name, description, attributes with
// type, multiValued, required, caseExact, mutability, returned, uniqueness, canonicalValues,
// subAttributes), plus which resource it extends, whether the extension is required (RFC 7643
// §6 `schemaExtensions`), and per attribute the checks the vendor help pages show on an attribute
// table (JumpCloud's: a maximum length, the characters allowed, a pattern). It is parsed once,
// into the same AttributeDef data that drives validation, filters, PATCH and /Schemas for the
// standard schemas.
import { ENTERPRISE_USER_SCHEMA } from './enterprise-user.ts'
import { GROUP_SCHEMA } from './group.ts'
import { attr, type AttributeDef, type AttributeType, type AttributeValidation, type AttrOptions, type Mutability, type Returned, type SchemaDef } from './types.ts'
import { USER_SCHEMA } from './user.ts'

export type DeclaredResource = 'User' | 'Group'

export interface DeclaredSchema {
  readonly resourceType: DeclaredResource
  /** The extension is required on every resource of the type (RFC 7643 §6). */
  readonly required: boolean
  readonly schema: SchemaDef
  /** The declaration with every default written out: what the API and the CLI show. */
  readonly definition: Record<string, unknown>
}

/** A declaration that cannot be accepted; `path` names the offending part (`attributes[2].pattern`). */
export class DeclarationError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`)
    this.name = 'DeclarationError'
  }
}

export const MAX_DECLARED_ATTRIBUTES = 100
export const MAX_PATTERN_LENGTH = 200
const MAX_TEXT = 1_000

const TYPES: readonly AttributeType[] = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary']
const MUTABILITY: readonly Mutability[] = ['readWrite', 'immutable', 'writeOnly', 'readOnly']
const RETURNED: readonly Returned[] = ['default', 'always', 'request', 'never']
const STRINGISH: readonly AttributeType[] = ['string', 'reference', 'binary']

// RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
// RFC 8141's shape, in the characters a filter's or a PATCH path's URI may hold
// (filter/parser.ts), so that every declared attribute can be named in both.
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9._~:/%+-]{1,250}$/i

/** The standard schemas, and the RFC's own URN spaces: never declared by an organization. */
function reserved(id: string): boolean {
  const l = id.toLowerCase()
  return [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA].some((s) => s.toLowerCase() === l)
    || l.startsWith('urn:ietf:params:scim:schemas:core:') || l.startsWith('urn:ietf:params:scim:api:')
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function text(v: unknown, path: string, fallback: string): string {
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'string' || v.length > MAX_TEXT) throw new DeclarationError(path, `must be a string of at most ${MAX_TEXT} characters`)
  return v
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'boolean') throw new DeclarationError(path, 'must be true or false')
  return v
}

function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined || v === null) return fallback
  const hit = typeof v === 'string' ? allowed.find((a) => a.toLowerCase() === v.toLowerCase()) : undefined
  if (!hit) throw new DeclarationError(path, `must be one of ${allowed.join(', ')}`)
  return hit
}

/**
 * A pattern an organization may declare. Matching runs on the request's thread, so a pattern
 * that can backtrack exponentially (ReDoS) is refused: no back-references or lookarounds, and no
 * quantified group that holds a quantifier or an alternation (`(a+)+`, `(a|aa)*`): star height
 * one, which backtracks at most polynomially in the value's length (bounded by maxLength).
 */
export function checkPattern(source: string, path: string): RegExp {
  if (source.length === 0 || source.length > MAX_PATTERN_LENGTH) throw new DeclarationError(path, `must be 1 to ${MAX_PATTERN_LENGTH} characters`)
  let re: RegExp
  try {
    re = new RegExp(source, 'u')
  } catch (e) {
    throw new DeclarationError(path, `is not a valid pattern (${(e as Error).message})`)
  }
  const unsafe = (why: string) => new DeclarationError(path, `is refused: ${why} can make matching take exponential time`)
  // Per open group: whether it holds a quantifier or an alternation.
  const groups: { risky: boolean }[] = [{ risky: false }]
  const quantifierAt = (i: number): number => {
    const c = source[i]
    if (c === '*' || c === '+' || c === '?') return 1
    if (c === '{') {
      const m = /^\{\d+(,\d*)?\}/.exec(source.slice(i))
      return m ? m[0].length : 0
    }
    return 0
  }
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      const n = source[i + 1] ?? ''
      if (/[1-9k]/.test(n)) throw unsafe('a back-reference')
      i++
      continue
    }
    if (c === '[') {
      // Skip the class: nothing inside it is a group or a quantifier.
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++
      continue
    }
    if (c === '(') {
      if (/^\(\?<?[=!]/.test(source.slice(i))) throw unsafe('a lookaround')
      groups.push({ risky: false })
      continue
    }
    if (c === '|') {
      const top = groups[groups.length - 1]
      if (top) top.risky = true
      continue
    }
    if (c === ')') {
      const closed = groups.pop()
      const q = quantifierAt(i + 1)
      if (closed?.risky && q > 0) throw unsafe('a quantified group holding a quantifier or an alternation')
      const parent = groups[groups.length - 1]
      if (parent && (closed?.risky || q > 0)) parent.risky = true
      if (q > 0) i += q
      continue
    }
    const q = quantifierAt(i)
    if (q > 0) {
      const top = groups[groups.length - 1]
      if (top) top.risky = true
      i += q - 1
    }
  }
  return re
}

/** `A-Za-z0-9._-`: the inside of one character class, as JumpCloud's tables describe allowed characters. */
export function checkAllowedCharacters(source: string, path: string): RegExp {
  if (source.length === 0 || source.length > MAX_PATTERN_LENGTH) throw new DeclarationError(path, `must be 1 to ${MAX_PATTERN_LENGTH} characters`)
  // An unescaped bracket would end the class early and turn the rest into a pattern.
  if (/[[\]]/.test(source.replace(/\\./g, ''))) throw new DeclarationError(path, 'must not hold an unescaped "[" or "]"')
  try {
    return new RegExp(`^[${source}]*$`, 'u')
  } catch (e) {
    throw new DeclarationError(path, `is not a valid character class (${(e as Error).message})`)
  }
}

function parseAttribute(raw: unknown, path: string, depth: number): { def: AttributeDef; doc: Record<string, unknown> } {
  if (!isObject(raw)) throw new DeclarationError(path, 'must be an object')
  const name = raw.name
  if (typeof name !== 'string' || !ATTRNAME.test(name)) throw new DeclarationError(`${path}.name`, 'must be an attribute name: a letter, then letters, digits, "-" or "_" (RFC 7643 §2.1), at most 64 characters')
  const type = oneOf(raw.type, `${path}.type`, TYPES, 'string')
  const uniqueness = oneOf(raw.uniqueness, `${path}.uniqueness`, ['none', 'server', 'global'] as const, 'none')
  // RFC 7643 §2.4: enforced for a top-level, single-valued, simple attribute (schema/unique.ts),
  // `global` as `server`. Among the values of a multi-valued attribute or the sub-attributes of a
  // complex one, whether "unique" means per value or per whole is not settled: refused, not guessed.
  if (uniqueness !== 'none') {
    if (depth > 0) throw new DeclarationError(`${path}.uniqueness`, `must be "none" on a sub-attribute: uniqueness is enforced on a top-level single-valued attribute`)
    if (type === 'complex') throw new DeclarationError(`${path}.uniqueness`, 'must be "none" on a complex attribute: uniqueness is enforced on a single-valued simple attribute')
    if (raw.multiValued === true) throw new DeclarationError(`${path}.uniqueness`, 'must be "none" on a multi-valued attribute: uniqueness is enforced on a single-valued simple attribute')
  }
  const rest: { -readonly [K in keyof AttrOptions]: AttrOptions[K] } = {
    multiValued: bool(raw.multiValued, `${path}.multiValued`, false),
    required: bool(raw.required, `${path}.required`, false),
    caseExact: bool(raw.caseExact, `${path}.caseExact`, false),
    mutability: oneOf(raw.mutability, `${path}.mutability`, MUTABILITY, 'readWrite'),
    returned: oneOf(raw.returned, `${path}.returned`, RETURNED, 'default'),
    uniqueness,
  }
  const doc: Record<string, unknown> = { name, type, description: text(raw.description, `${path}.description`, ''), ...rest }
  if (raw.canonicalValues !== undefined && raw.canonicalValues !== null) {
    const cv = raw.canonicalValues
    if (!STRINGISH.includes(type) || !Array.isArray(cv) || cv.length === 0 || cv.length > 1_000 || !cv.every((v) => typeof v === 'string' && v.length <= MAX_TEXT)) {
      throw new DeclarationError(`${path}.canonicalValues`, 'must be a non-empty array of strings, on a string attribute')
    }
    rest.canonicalValues = cv as string[]
    doc.canonicalValues = cv
  }
  const validation: { -readonly [K in keyof AttributeValidation]: AttributeValidation[K] } = {}
  if (rest.canonicalValues) validation.canonicalOnly = true
  for (const key of ['maxLength', 'pattern', 'allowedCharacters'] as const) {
    if (raw[key] === undefined || raw[key] === null) continue
    if (!STRINGISH.includes(type)) throw new DeclarationError(`${path}.${key}`, 'applies only to a string, reference or binary attribute')
  }
  if (raw.maxLength !== undefined && raw.maxLength !== null) {
    if (!Number.isInteger(raw.maxLength) || (raw.maxLength as number) < 1 || (raw.maxLength as number) > 65_535) throw new DeclarationError(`${path}.maxLength`, 'must be an integer from 1 to 65535')
    validation.maxLength = raw.maxLength as number
    doc.maxLength = raw.maxLength
  }
  if (raw.pattern !== undefined && raw.pattern !== null) {
    if (typeof raw.pattern !== 'string') throw new DeclarationError(`${path}.pattern`, 'must be a string')
    validation.pattern = checkPattern(raw.pattern, `${path}.pattern`)
    doc.pattern = raw.pattern
  }
  if (raw.allowedCharacters !== undefined && raw.allowedCharacters !== null) {
    if (typeof raw.allowedCharacters !== 'string') throw new DeclarationError(`${path}.allowedCharacters`, 'must be a string')
    validation.allowedCharacters = checkAllowedCharacters(raw.allowedCharacters, `${path}.allowedCharacters`)
    doc.allowedCharacters = raw.allowedCharacters
  }
  if (type === 'complex') {
    // RFC 7643 §2.3.8: a complex attribute's sub-attributes are not complex themselves.
    if (depth > 0) throw new DeclarationError(`${path}.type`, 'a sub-attribute cannot be complex (RFC 7643 §2.3.8)')
    const subs = raw.subAttributes
    if (!Array.isArray(subs) || subs.length === 0 || subs.length > MAX_DECLARED_ATTRIBUTES) {
      throw new DeclarationError(`${path}.subAttributes`, `a complex attribute needs 1 to ${MAX_DECLARED_ATTRIBUTES} sub-attributes`)
    }
    const parsed = parseAttributes(subs, `${path}.subAttributes`, depth + 1)
    rest.subAttributes = parsed.map((p) => p.def)
    doc.subAttributes = parsed.map((p) => p.doc)
  } else if (raw.subAttributes !== undefined && raw.subAttributes !== null) {
    throw new DeclarationError(`${path}.subAttributes`, 'only a complex attribute has sub-attributes')
  }
  if (Object.keys(validation).length > 0) rest.validation = validation
  return { def: attr(name, type, doc.description as string, rest), doc }
}

function parseAttributes(list: readonly unknown[], path: string, depth: number): { def: AttributeDef; doc: Record<string, unknown> }[] {
  const seen = new Set<string>()
  return list.map((raw, i) => {
    const p = parseAttribute(raw, `${path}[${i}]`, depth)
    const key = p.def.name.toLowerCase()
    // RFC 7643 §2.1: attribute names are case-insensitive, so two that differ in case are one.
    if (seen.has(key)) throw new DeclarationError(`${path}[${i}].name`, `"${p.def.name}" is declared twice (names are case-insensitive)`)
    seen.add(key)
    return p
  })
}

/** Parses and checks one declaration; a DeclarationError names what is wrong. */
export function parseDeclaration(input: unknown): DeclaredSchema {
  if (!isObject(input)) throw new DeclarationError('schema', 'must be a JSON object')
  const id = input.id
  if (typeof id !== 'string' || !URN.test(id)) throw new DeclarationError('id', 'must be a URN such as urn:ietf:params:scim:schemas:extension:acme:2.0:User')
  if (reserved(id)) throw new DeclarationError('id', `${id} is a standard schema; declare an extension under a URN of your own`)
  const resourceType = oneOf(input.resourceType, 'resourceType', ['User', 'Group'] as const, 'User')
  const required = bool(input.required, 'required', false)
  const list = input.attributes
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_DECLARED_ATTRIBUTES) {
    throw new DeclarationError('attributes', `must be an array of 1 to ${MAX_DECLARED_ATTRIBUTES} attributes`)
  }
  const attributes = parseAttributes(list, 'attributes', 0)
  const name = text(input.name, 'name', id.slice(id.lastIndexOf(':') + 1) || id)
  const description = text(input.description, 'description', '')
  const schema: SchemaDef = Object.freeze({ id, name, description, attributes: attributes.map((a) => a.def) })
  return {
    resourceType, required, schema,
    definition: { id, name, description, resourceType, required, attributes: attributes.map((a) => a.doc) },
  }
}
