// The directory API's shape of a user and a group (docs/api.md): made for applications, not
// SCIM's wire form. One field per thing an application asks ("the user's email", "is the user
// active"), the enterprise extension's attributes without their URN, who manages the resource,
// and the attributes an identity provider sent that no schema declares, kept under
// `customAttributes` rather than dropped. Events carry the same shapes (docs/events.md).
import { NO_MAPPING, type AttributeMapping } from '../orgs/settings.ts'
import { getIgnoringCase } from '../scim/resource.ts'
import type { GroupRow, MemberRow, UserRow } from '../store/store.ts'

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

type Json = Record<string, unknown>

export interface ApiUser {
  readonly id: string
  readonly externalId: string | null
  readonly userName: string
  readonly email: string | null
  readonly emails: readonly { value: string; type: string | null; primary: boolean }[]
  readonly name: Json | null
  readonly displayName: string | null
  readonly nickName: string | null
  readonly title: string | null
  readonly userType: string | null
  readonly preferredLanguage: string | null
  readonly locale: string | null
  readonly timezone: string | null
  readonly phoneNumbers: readonly { value: string; type: string | null; primary: boolean }[]
  readonly addresses: readonly Json[]
  readonly active: boolean
  /** pending: invited, not yet accepted · active · suspended: deactivated by the identity provider · deleted: kept for the deprovisioning policy's days. */
  readonly state: 'pending' | 'active' | 'suspended' | 'deleted'
  readonly enterprise: Json | null
  /** The organization's declared extensions' values, by URN (docs/custom-attributes.md). */
  readonly extensions: Json
  /** The organization's attribute mapping applied: its field names with their values (null when unset). */
  readonly fields: Json
  readonly managedBy: string
  readonly identityProvider: string | null
  readonly customAttributes: Json
  /** The application's own attributes: set through the directory API, never by SCIM. */
  readonly metadata: Json
  readonly createdAt: string
  readonly updatedAt: string
  readonly version: number
}

export interface ApiGroup {
  readonly id: string
  readonly externalId: string | null
  readonly displayName: string
  readonly memberCount: number
  /** The organization's declared extensions' values, by URN (docs/custom-attributes.md). */
  readonly extensions: Json
  readonly managedBy: string
  readonly identityProvider: string | null
  readonly createdAt: string
  readonly updatedAt: string
  readonly version: number
}

export interface ApiMember {
  readonly id: string
  readonly type: 'user' | 'group'
  readonly display: string | null
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : []
}

function valued(v: unknown): { value: string; type: string | null; primary: boolean }[] {
  return list(v).flatMap((e) => (typeof e.value === 'string' ? [{ value: e.value, type: str(e.type), primary: e.primary === true }] : []))
}

/** The primary value, else the first (RFC 7643 §2.4: at most one is primary). */
function primaryOf(values: readonly { value: string; primary: boolean }[]): string | null {
  return (values.find((v) => v.primary) ?? values[0])?.value ?? null
}

function enterpriseOf(body: Json): Json | null {
  const ext = body[ENTERPRISE]
  if (!isObject(ext)) return null
  const out: Json = { ...ext }
  // SCIM's manager is { value, $ref, displayName }; an application wants the manager's id.
  if (isObject(ext.manager)) out.manager = { id: str(ext.manager.value), displayName: str(ext.manager.displayName) }
  return out
}

/**
 * The body's extension objects other than the enterprise one: a validated body holds an
 * extension's values under its URN only for a schema the organization declares.
 */
function extensionsOf(body: Json): Json {
  let out: Json | null = null
  for (const k in body) {
    if (k.startsWith('urn:') && k !== ENTERPRISE && isObject(body[k])) (out ??= {})[k] = body[k]
  }
  return out ?? {}
}

/**
 * The value at a SCIM attribute path in a stored body: an extension's attribute under its URN; of
 * a multi-valued attribute, the primary element (else the first), and of a complex element its
 * `value` unless a sub-attribute is named.
 */
export function valueAt(body: Json, path: string): unknown {
  const colon = path.lastIndexOf(':')
  const container = colon < 0 ? body : getIgnoringCase(body, path.slice(0, colon))
  if (!isObject(container)) return null
  const [name, sub] = path.slice(colon + 1).split('.') as [string, string | undefined]
  let v = getIgnoringCase(container, name)
  if (Array.isArray(v)) v = v.find((e) => isObject(e) && e.primary === true) ?? v[0]
  if (isObject(v)) v = getIgnoringCase(v, sub ?? 'value')
  else if (sub !== undefined) return null
  return v ?? null
}

function fieldsOf(body: Json, mapping: AttributeMapping): Json {
  const out: Json = {}
  for (const path in mapping) out[mapping[path] as string] = valueAt(body, path)
  return out
}

export function apiUser(row: UserRow, mapping: AttributeMapping = NO_MAPPING): ApiUser {
  const b = row.body
  const emails = valued(b.emails)
  const active = b.active !== false
  const info = row.directory
  return {
    id: row.id,
    externalId: str(b.externalId),
    userName: str(b.userName) ?? '',
    email: primaryOf(emails),
    emails,
    name: isObject(b.name) ? b.name : null,
    displayName: str(b.displayName),
    nickName: str(b.nickName),
    title: str(b.title),
    userType: str(b.userType),
    preferredLanguage: str(b.preferredLanguage),
    locale: str(b.locale),
    timezone: str(b.timezone),
    phoneNumbers: valued(b.phoneNumbers),
    addresses: list(b.addresses),
    active,
    state: !active ? 'suspended' : info?.pending === true ? 'pending' : 'active',
    enterprise: enterpriseOf(b),
    extensions: extensionsOf(b),
    fields: fieldsOf(b, mapping),
    managedBy: info?.managedBy ?? 'scim',
    identityProvider: info?.identityProvider ?? null,
    customAttributes: info?.customAttributes ?? {},
    metadata: info?.metadata ?? {},
    createdAt: row.created,
    updatedAt: row.lastModified,
    version: row.version,
  }
}

export function apiGroup(row: GroupRow): ApiGroup {
  const b = row.body
  const info = row.directory
  return {
    id: row.id,
    externalId: str(b.externalId),
    displayName: str(b.displayName) ?? '',
    memberCount: info?.memberCount ?? 0,
    extensions: extensionsOf(b),
    managedBy: info?.managedBy ?? 'scim',
    identityProvider: info?.identityProvider ?? null,
    createdAt: row.created,
    updatedAt: row.lastModified,
    version: row.version,
  }
}

export function apiMember(m: MemberRow): ApiMember {
  return { id: m.value, type: m.type === 'Group' ? 'group' : 'user', display: m.display }
}
