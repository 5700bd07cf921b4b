// Mapping between SCIM bodies and row columns: what is copied out of the body into indexed
// columns and side tables, and back.
import { fold } from '../../scim/fold.ts'
import type { GroupRow, UserRow } from '../store.ts'

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

export interface ResourceRecord { id: string; version: number | string; created_at: string; updated_at: string; data: unknown }

function parseBody(data: unknown): Record<string, unknown> {
  return (typeof data === 'string' ? JSON.parse(data) : data) as Record<string, unknown>
}

export function toUserRow(r: ResourceRecord): UserRow {
  return { id: r.id, version: Number(r.version), created: r.created_at, lastModified: r.updated_at, body: parseBody(r.data) }
}

export function toGroupRow(r: ResourceRecord): GroupRow {
  return { id: r.id, version: Number(r.version), created: r.created_at, lastModified: r.updated_at, body: parseBody(r.data) }
}
