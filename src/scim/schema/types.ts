// Schema definitions as data (RFC 7643 §2.2, §7). One definition drives validation, projection,
// case folding, uniqueness and the /Schemas response.

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary'
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly'
export type Returned = 'always' | 'never' | 'default' | 'request'
export type Uniqueness = 'none' | 'server' | 'global'

export interface AttributeDef {
  readonly name: string
  readonly type: AttributeType
  readonly multiValued: boolean
  readonly description: string
  readonly required: boolean
  readonly caseExact: boolean
  readonly mutability: Mutability
  readonly returned: Returned
  readonly uniqueness: Uniqueness
  readonly canonicalValues?: readonly string[]
  readonly referenceTypes?: readonly string[]
  readonly subAttributes?: readonly AttributeDef[]
  /** Checks an organization declared beyond RFC 7643's (schema/declared.ts); none for the standard schemas. */
  readonly validation?: AttributeValidation
}

/** What a declared string attribute's values must satisfy (JumpCloud's attribute table shows such rules). */
export interface AttributeValidation {
  readonly maxLength?: number
  /** An ECMAScript pattern the whole value must match. */
  readonly pattern?: RegExp
  /** The characters allowed, as the inside of a character class (`A-Za-z0-9._-`). */
  readonly allowedCharacters?: RegExp
  /** Declared canonical values are the only values accepted. */
  readonly canonicalOnly?: boolean
}

export interface SchemaDef {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly attributes: readonly AttributeDef[]
}

export interface ResourceTypeDef {
  readonly id: 'User' | 'Group'
  readonly name: string
  readonly endpoint: string
  readonly description: string
  readonly schema: string
  readonly schemaExtensions: readonly { readonly schema: string; readonly required: boolean }[]
}

/** Everything about an attribute but its name, type and description; left out means the default. */
export type AttrOptions = { readonly [K in Exclude<keyof AttributeDef, 'name' | 'type' | 'description'>]?: AttributeDef[K] }

const DEFAULTS = {
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
} as const

/** Builds an attribute with RFC 7643 §2.2's defaults for whatever `rest` leaves out. */
export function attr(name: string, type: AttributeType, description: string, rest: AttrOptions = {}): AttributeDef {
  return Object.freeze({ ...DEFAULTS, ...rest, name, type, description })
}

/** The sub-attributes RFC 7643 §2.4 gives every multi-valued attribute. */
export function multiValuedSubs(valueType: AttributeType, valueDesc: string, opts: { typeValues?: readonly string[]; valueRest?: AttrOptions; } = {}): AttributeDef[] {
  return [
    attr('value', valueType, valueDesc, opts.valueRest ?? {}),
    attr('display', 'string', 'A human-readable name, primarily used for display purposes.'),
    attr('type', 'string', 'A label indicating the attribute\'s function.', opts.typeValues ? { canonicalValues: opts.typeValues } : {}),
    attr('primary', 'boolean', 'A Boolean value indicating the preferred value for this attribute.'),
  ]
}
