// The operator's organizations a page at a time (docs/console.md, "Operator"): in name order
// on the unique index of orgs.name_folded (migration 0001), after the last folded name shown,
// each with its domains and its SCIM tokens' figures (live tokens, first and last use) from
// their (org_id, …) keys. A page costs its own rows, however many organizations there are.
import { sql } from 'kysely'
import type { OrgPageRow } from '../console-store.ts'
import type { OrgId } from '../store.ts'
import type { RawQueries } from './raw-queries.ts'

interface OrgPageRecord {
  id: string; name: string; name_folded: string; created_at: string; live_tokens: number | string
  first_at: string | null; first_by: string | null; last_at: string | null; last_by: string | null
}

const used = (column: 'first' | 'last', what: 'at' | 'by') => sql.raw(`(select t.${column}_used_${what} from scim_tokens t where t.org_id = o.id
  and t.${column}_used_at is not null order by t.${column}_used_at ${column === 'first' ? 'asc' : 'desc'} limit 1)`)

/** The page's statement. */
export function orgPageQuery(after: string | null, limit: number) {
  return sql`select o.id, o.name, o.name_folded, o.created_at,
      (select count(*) from scim_tokens t where t.org_id = o.id and t.revoked_at is null) as live_tokens,
      ${used('first', 'at')} as first_at, ${used('first', 'by')} as first_by, ${used('last', 'at')} as last_at, ${used('last', 'by')} as last_by
    from orgs o ${after === null ? sql`` : sql`where o.name_folded > ${after}`} order by o.name_folded limit ${limit}`
}

export async function orgPage(q: RawQueries, after: string | null, limit: number): Promise<OrgPageRow[]> {
  const rows = await q.read<OrgPageRecord>(orgPageQuery(after, limit))
  if (rows.length === 0) return []
  const domains = await q.read<{ org_id: string; domain: string }>(sql`select org_id, domain from org_domains
    where org_id in (${sql.join(rows.map((r) => r.id))}) order by org_id, domain`)
  return rows.map((r) => ({
    id: r.id as OrgId, name: r.name, nameFolded: r.name_folded, createdAt: r.created_at, domains: domains.filter((d) => d.org_id === r.id).map((d) => d.domain),
    liveTokens: Number(r.live_tokens), firstAt: r.first_at, firstBy: r.first_by, lastAt: r.last_at, lastBy: r.last_by,
  }))
}
