// The provisioning log's rows and page query. Every filter is written so that an index of
// migration 0004 answers it, newest first, with no sort: the key (org_id, id) for the
// cursor and `since`; (org_id, resource_id, id) for a resource; (org_id, status / 100, id)
// over failures for a status (its expression and predicate spelled as the index spells them);
// (org_id, identity_provider, id) of migration 0014 for an identity provider.
import { sql, type Kysely } from 'kysely'
import type { LogQuery, LogRow, OrgId } from '../store.ts'
import type { Database, ProvisioningLogTable } from './schema.ts'

export function logArgs(orgId: OrgId, r: LogRow): unknown[] {
  return [orgId, r.id, r.at, r.requestId, r.identityProvider, r.method, r.path, r.resourceType, r.resourceId, r.status, r.scimType, r.detail, r.durationUs, r.changes, r.notes]
}

export function toLogRow(r: ProvisioningLogTable): LogRow {
  return {
    id: r.id,
    at: r.at,
    requestId: r.request_id,
    identityProvider: r.identity_provider,
    method: r.method,
    path: r.path,
    resourceType: r.resource_type === 'User' || r.resource_type === 'Group' ? r.resource_type : null,
    resourceId: r.resource_id,
    status: Number(r.status),
    scimType: r.scim_type,
    detail: r.detail,
    durationUs: Number(r.duration_us),
    changes: r.changes,
    notes: r.notes,
  }
}

/** `key`: an id as the table keeps it (SQLite's log file keeps UUIDs as 16 bytes). */
export function logPageQuery(b: Kysely<Database>, orgId: OrgId, q: LogQuery, key: (id: string) => unknown = (id) => id) {
  return logWhere(b, orgId, q, key).selectAll().orderBy('id', 'desc').limit(q.limit)
}

/** How many rows the query selects, up to its limit: the count stops where the walk does. */
export function logCountQuery(b: Kysely<Database>, orgId: OrgId, q: LogQuery, key: (id: string) => unknown = (id) => id) {
  const rows = logWhere(b, orgId, q, key).select(sql<number>`1`.as('one')).limit(q.limit)
  return b.selectFrom(rows.as('r')).select((e) => e.fn.countAll<number | string>().as('n'))
}

function logWhere(b: Kysely<Database>, orgId: OrgId, q: LogQuery, key: (id: string) => unknown) {
  const k = (id: string) => key(id) as string
  let s = b.selectFrom('provisioning_log').where('org_id', '=', k(orgId))
  if (q.before !== null) s = s.where('id', '<', k(q.before))
  if (q.sinceId !== null) s = s.where('id', '>=', k(q.sinceId))
  if (q.resourceId !== null) s = s.where('resource_id', '=', k(q.resourceId))
  const cls = q.status !== null ? Math.floor(q.status / 100) : q.statusClass
  if (cls !== null && cls >= 4) {
    // Literal 100 and 400: the index is on exactly `status / 100` where `status >= 400`.
    s = s.where(sql`status / 100`, '=', cls).where(sql<boolean>`status >= 400`)
  } else if (cls !== null && q.status === null) {
    s = s.where('status', '>=', cls * 100).where('status', '<', cls * 100 + 100)
  }
  if (q.status !== null) s = s.where('status', '=', q.status)
  if (q.identityProvider != null) s = s.where('identity_provider', '=', q.identityProvider)
  return s
}
