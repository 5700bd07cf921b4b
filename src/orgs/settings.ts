// An organization's settings (docs/policies.md): what the admin chooses beside the token, the
// way the vendor help pages this product started from walk through them (JumpCloud's "Password
// Pending" invitations, Verkada's SCIM-owned fields, Kandji's domain list). Stored as JSON on
// the organization's row (migration 0008); a key that is absent takes its default here, so an
// organization created before a setting existed has that setting's default.

export type OutsideDomains = 'refuse' | 'allow'
export type Deprovision = 'delete' | 'suspend'

export interface OrgSettings {
  /** A user created through SCIM starts `pending` and is sent an invitation email. */
  readonly sendInvitations: boolean
  /** What a SCIM write gets when its userName or primary/work email is outside the domains. */
  readonly outsideDomains: OutsideDomains
  /** Subdomains of a domain count as inside it (eu.acme.com under acme.com). */
  readonly subdomains: boolean
  /** DELETE removes the user at once, or keeps it `deleted` for `deleteAfterDays` first. */
  readonly deprovision: Deprovision
  readonly deleteAfterDays: number
  /** A SCIM create whose userName is an application-created user's takes that user over. */
  readonly adoptExisting: boolean
  /** The directory API's user fields that an identity provider owns on SCIM-managed users. */
  readonly scimOwnedFields: readonly ScimOwnedField[]
  /**
   * A SCIM write carrying attributes that no schema of the organization declares is a 400
   * invalidSyntax naming them; off, they are kept for the application (docs/custom-attributes.md).
   */
  readonly strictAttributes: boolean
  /**
   * SCIM attribute paths the directory API and the events also show under the application's own
   * field names, in a user's `fields` (`title` → `jobTitle`): the same names whichever identity
   * provider the customer uses (docs/custom-attributes.md).
   */
  readonly attributeMapping: AttributeMapping
}

/** SCIM attribute path (`title`, `name.givenName`, `urn:…:User:costCenter`) → the application's field name. */
export type AttributeMapping = Readonly<Record<string, string>>

export const NO_MAPPING: AttributeMapping = Object.freeze({})

export const MAX_MAPPED_ATTRIBUTES = 100
// An attribute path as a filter names one (RFC 7644 §3.4.2.2: [URI ":"] ATTRNAME ["." subAttr]).
const MAPPED_PATH = /^(?:[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/%+-]*:)?[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)?$/
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** Checks a mapping: paths a filter could name, field names an application can use, each field once. */
function parseMapping(v: unknown): AttributeMapping {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SettingsError('attributeMapping', 'attributeMapping must be an object of SCIM attribute path → field name')
  const entries = Object.entries(v)
  if (entries.length > MAX_MAPPED_ATTRIBUTES) throw new SettingsError('attributeMapping', `attributeMapping maps at most ${MAX_MAPPED_ATTRIBUTES} attributes`)
  const seen = new Set<string>()
  for (const [path, field] of entries) {
    if (!MAPPED_PATH.test(path) || path.length > 300) throw new SettingsError('attributeMapping', `attributeMapping: "${path}" is not a SCIM attribute path (title, name.givenName, urn:…:User:costCenter)`)
    if (typeof field !== 'string' || !FIELD_NAME.test(field)) throw new SettingsError('attributeMapping', `attributeMapping: the field name for "${path}" must be a letter or _, then letters, digits or _ (at most 64)`)
    if (seen.has(field)) throw new SettingsError('attributeMapping', `attributeMapping: "${field}" is the field name of two attributes`)
    seen.add(field)
  }
  return Object.fromEntries(entries) as AttributeMapping
}

/**
 * The fields of the directory API's user (directory/shape.ts) an identity provider can own.
 * `enterprise` stands for every enterprise-extension attribute (RFC 7643 §4.3).
 */
export const SCIM_FIELDS = [
  'userName', 'externalId', 'name', 'displayName', 'nickName', 'emails', 'phoneNumbers', 'addresses', 'title', 'userType',
  'preferredLanguage', 'locale', 'timezone', 'active', 'enterprise',
] as const
export type ScimOwnedField = (typeof SCIM_FIELDS)[number]

/** Verkada's list of what its SCIM integration controls, with the enterprise attributes and externalId. */
export const DEFAULT_SCIM_OWNED: readonly ScimOwnedField[] = [
  'userName', 'externalId', 'name', 'displayName', 'emails', 'phoneNumbers', 'title', 'active', 'addresses', 'enterprise',
]

export const DEFAULT_SETTINGS: OrgSettings = {
  sendInvitations: true,
  outsideDomains: 'refuse',
  subdomains: false,
  deprovision: 'delete',
  deleteAfterDays: 30,
  adoptExisting: false,
  scimOwnedFields: DEFAULT_SCIM_OWNED,
  strictAttributes: false,
  attributeMapping: {},
}

export const MAX_DELETE_AFTER_DAYS = 3_650

const isField = (v: unknown): v is ScimOwnedField => typeof v === 'string' && (SCIM_FIELDS as readonly string[]).includes(v)

/** The stored JSON read with defaults for what it lacks (and for anything it holds that is not valid). */
export function readSettings(json: string | null | undefined): OrgSettings {
  let s: Record<string, unknown> = {}
  try {
    const parsed: unknown = JSON.parse(json ?? '{}')
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) s = parsed as Record<string, unknown>
  } catch {
    // A row written by hand that is not JSON: the defaults.
  }
  const d = DEFAULT_SETTINGS
  return {
    sendInvitations: typeof s.sendInvitations === 'boolean' ? s.sendInvitations : d.sendInvitations,
    outsideDomains: s.outsideDomains === 'allow' || s.outsideDomains === 'refuse' ? s.outsideDomains : d.outsideDomains,
    subdomains: typeof s.subdomains === 'boolean' ? s.subdomains : d.subdomains,
    deprovision: s.deprovision === 'delete' || s.deprovision === 'suspend' ? s.deprovision : d.deprovision,
    deleteAfterDays: Number.isInteger(s.deleteAfterDays) && (s.deleteAfterDays as number) >= 0 && (s.deleteAfterDays as number) <= MAX_DELETE_AFTER_DAYS
      ? (s.deleteAfterDays as number) : d.deleteAfterDays,
    adoptExisting: typeof s.adoptExisting === 'boolean' ? s.adoptExisting : d.adoptExisting,
    scimOwnedFields: Array.isArray(s.scimOwnedFields) && s.scimOwnedFields.every(isField) ? s.scimOwnedFields : d.scimOwnedFields,
    strictAttributes: typeof s.strictAttributes === 'boolean' ? s.strictAttributes : d.strictAttributes,
    attributeMapping: mappingOr(s.attributeMapping, d.attributeMapping),
  }
}

function mappingOr(v: unknown, fallback: AttributeMapping): AttributeMapping {
  if (v === undefined) return fallback
  try {
    return parseMapping(v)
  } catch {
    return fallback
  }
}

export class SettingsError extends Error {
  constructor(readonly field: string, message: string) {
    super(message)
    this.name = 'SettingsError'
  }
}

/** A change of settings as the CLI and the API take it; every key optional. */
export type SettingsChange = Partial<{ -readonly [K in keyof OrgSettings]: OrgSettings[K] }>

/**
 * Validates a change (from JSON: the API's body, or the CLI's flags made into one) and returns
 * it typed; throws SettingsError naming the first field that is wrong and what it takes.
 */
export function parseSettingsChange(input: Record<string, unknown>): SettingsChange {
  const out: SettingsChange = {}
  for (const [k, v] of Object.entries(input)) {
    switch (k) {
      case 'sendInvitations':
      case 'subdomains':
      case 'adoptExisting':
      case 'strictAttributes':
        if (typeof v !== 'boolean') throw new SettingsError(k, `${k} must be true or false`)
        out[k] = v
        break
      case 'outsideDomains':
        if (v !== 'refuse' && v !== 'allow') throw new SettingsError(k, 'outsideDomains must be "refuse" or "allow"')
        out.outsideDomains = v
        break
      case 'deprovision':
        if (v !== 'delete' && v !== 'suspend') throw new SettingsError(k, 'deprovision must be "delete" or "suspend"')
        out.deprovision = v
        break
      case 'deleteAfterDays':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_DELETE_AFTER_DAYS) {
          throw new SettingsError(k, `deleteAfterDays must be a whole number of days from 0 to ${MAX_DELETE_AFTER_DAYS}`)
        }
        out.deleteAfterDays = v
        break
      case 'attributeMapping':
        out.attributeMapping = parseMapping(v)
        break
      case 'scimOwnedFields': {
        if (!Array.isArray(v)) throw new SettingsError(k, 'scimOwnedFields must be a list of field names')
        const bad = v.find((f) => !isField(f))
        if (bad !== undefined) throw new SettingsError(k, `scimOwnedFields: "${String(bad)}" is not a user field; the fields are ${SCIM_FIELDS.join(', ')}`)
        out.scimOwnedFields = [...new Set(v as ScimOwnedField[])]
        break
      }
      default:
        throw new SettingsError(k, `"${k}" is not a setting; the settings are ${Object.keys(DEFAULT_SETTINGS).join(', ')}`)
    }
  }
  return out
}

/** The settings after a change, and the names of those it changed. */
export function applySettingsChange(current: OrgSettings, change: SettingsChange): { settings: OrgSettings; changed: string[] } {
  const settings = { ...current, ...change }
  const changed = (Object.keys(change) as (keyof OrgSettings)[]).filter((k) => JSON.stringify(current[k]) !== JSON.stringify(settings[k]))
  return { settings, changed }
}
