// Mapping between SCIM bodies and row columns: what is copied out of the body into indexed
// columns and side tables, and back.
import { fold } from '../../scim/fold.ts'
import type { DirectoryInfo, GroupRef, GroupRow, MemberRow, UserRow } from '../store.ts'

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null
}

/** The indexed columns of a user, derived from its body. */
export function userColumns(body: Record<string, unknown>) {
  const userName = str(body.userName) ?? ''
  return {
    user_name: userName,
    user_name_folded: fold(userName),
    external_id: str(body.externalId),
    // RFC 7643 §4.1.1 leaves an absent `active` to the service provider: Roster treats it as true.
    active: body.active === false ? 0 : 1,
    display_name: str(body.displayName),
  }
}

export interface EmailRow { value_folded: string; type: string | null; is_primary: number }

/** One side-table row per distinct email value (RFC 7643 §4.1.2 emails), folded for lookup. */
export function emailRows(body: Record<string, unknown>): EmailRow[] {
  const emails = body.emails
  if (!Array.isArray(emails)) return []
  const byValue = new Map<string, EmailRow>()
  for (const e of emails as unknown[]) {
    if (typeof e !== 'object' || e === null) continue
    const rec = e as Record<string, unknown>
    const value = str(rec.value)
    if (value === null || value === '') continue
    const key = fold(value)
    const prev = byValue.get(key)
    const type = str(rec.type)
    const row = { value_folded: key, type: type === null ? null : fold(type), is_primary: rec.primary === true ? 1 : 0 }
    if (!prev || (row.is_primary && !prev.is_primary)) byValue.set(key, row)
  }
  return [...byValue.values()]
}

export function groupColumns(body: Record<string, unknown>) {
  const displayName = str(body.displayName) ?? ''
  return { display_name: displayName, display_name_folded: fold(displayName), external_id: str(body.externalId) }
}

export interface ResourceRecord {
  id: string
  version: number | string
  created_at: string
  updated_at: string
  data: unknown
  /** Present when the statement selected the directory columns (statements.ts USER_DIRECTORY / GROUP_DIRECTORY). */
  managed_by?: string
  identity_provider?: string | null
  custom_attributes?: string | null
  member_count?: number | string
  pending?: number | string
  metadata?: string | null
}

/** The directory columns of a row, when its statement selected them. */
function directoryOf(r: ResourceRecord): { directory?: DirectoryInfo } {
  if (r.managed_by === undefined) return {}
  return {
    directory: {
      managedBy: r.managed_by,
      identityProvider: r.identity_provider ?? null,
      customAttributes: typeof r.custom_attributes === 'string' ? (JSON.parse(r.custom_attributes) as Record<string, unknown>) : null,
      ...(r.member_count === undefined ? {} : { memberCount: Number(r.member_count) }),
      ...(r.pending === undefined ? {} : { pending: Number(r.pending) === 1, metadata: typeof r.metadata === 'string' ? (JSON.parse(r.metadata) as Record<string, unknown>) : null }),
    },
  }
}

/**
 * A row whose body is parsed only when read: a response rendered without a projection splices
 * the stored JSON text into its output instead (scim/render.ts), so most reads never parse it.
 * PostgreSQL's driver returns jsonb already parsed; then there is no text to keep.
 *
 * A class, its `body` a getter of the prototype. An object literal with a getter of its own
 * (`{ get body() {…} }`) gets a hidden class of its own, which V8 keeps in the old generation:
 * there it held each row's record and text through every young-generation collection until the
 * next full one (docs/storage.md, "Garbage collection"). Spreading a row (`{ ...row }`) does
 * not copy a prototype's getter: a copy names `body: row.body` itself.
 */
class StoredRow {
  readonly id: string
  readonly version: number
  readonly created: string
  readonly lastModified: string
  readonly json: string | undefined
  #body: Record<string, unknown> | undefined

  constructor(r: ResourceRecord) {
    this.id = r.id
    this.version = Number(r.version)
    this.created = r.created_at
    this.lastModified = r.updated_at
    this.json = typeof r.data === 'string' ? r.data : undefined
    this.#body = typeof r.data === 'string' ? undefined : (r.data as Record<string, unknown>)
  }

  get body(): Record<string, unknown> {
    this.#body ??= JSON.parse(this.json as string) as Record<string, unknown>
    return this.#body
  }
}

function storedRow<X extends object>(r: ResourceRecord, extra: X): StoredRow & X {
  return Object.assign(new StoredRow(r), extra)
}

export function toUserRow(r: ResourceRecord, groups?: readonly GroupRef[]): UserRow {
  return storedRow(r, groups ? { groups, ...directoryOf(r) } : directoryOf(r))
}

export function toGroupRow(r: ResourceRecord, members?: readonly MemberRow[]): GroupRow {
  return storedRow(r, members ? { members, ...directoryOf(r) } : directoryOf(r))
}

/** No groups: one array for every user in none. */
export const NO_GROUPS: readonly GroupRef[] = []

/** The `groups` column (statements.ts groupsColumn) as GroupRefs. */
export function groupRefs(json: string): readonly GroupRef[] {
  if (json === '[]') return NO_GROUPS
  return (JSON.parse(json) as [string, string][]).map(([value, display]) => ({ value, display }))
}
