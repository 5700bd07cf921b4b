// An organization's settings, domains and audit entries (store/org-store.ts) over a write
// transaction's connection; the statements are compiled once per store (orgStatements).
import { sql, type Kysely } from 'kysely'
import { readSettings, type OrgSettings } from '../../orgs/settings.ts'
import type { AuditRow, DomainChange, DomainClaim, DomainRecord, DomainState, OrgPolicy, OrgPolicyTx, WithheldReason } from '../org-store.ts'
import { OrgGone, type OrgId } from '../store.ts'
import { all, run } from './conn-helpers.ts'
import { arg, prepare, type Conn } from './prepared.ts'
import type { AuditLogTable, Database, OrgDomainsTable } from './schema.ts'

/**
 * The organization's row held in a write transaction. PostgreSQL: FOR KEY SHARE (`holdShared`)
 * waits only for a deletion in flight; FOR NO KEY UPDATE (`hold`) also orders a change of the
 * organization's own state (settings read and written back whole; a token refresh revoking the
 * live tokens) against another, without waiting for the writes that hold KEY SHARE. SQLite's one
 * writer orders every write transaction already.
 */
export function holdStatements(b: Kysely<Database>, kind: 'sqlite' | 'postgres') {
  const row = b.selectFrom('orgs').select('id').where('id', '=', arg(0))
  return {
    holdShared: prepare(kind === 'postgres' ? row.forKeyShare() : row),
    hold: prepare(kind === 'postgres' ? row.forNoKeyUpdate() : row),
  }
}
export type HoldStatements = ReturnType<typeof holdStatements>

/** Runs one of holdStatements on a transaction's connection: OrgGone when the organization is not there. */
export async function runHold(conn: Conn, stmt: HoldStatements[keyof HoldStatements], orgId: OrgId): Promise<void> {
  if ((await all(conn, stmt, [orgId])).length === 0) throw new OrgGone(orgId)
}

export function orgStatements(b: Kysely<Database>, kind: 'sqlite' | 'postgres') {
  // A write reads its policy in one statement: the settings and every listed domain, space-separated,
  // each as `domain:a` (counts), `domain:s` (superseded) or `domain:c` (contested: a verification
  // pending or failed while another organization's earlier claim stands; ties go to the smaller
  // id). Without the contested case, verifying a domain another organization lists would make two
  // claims that count without the operator's ROSTER_SHARED_DOMAINS (docs/policies.md).
  const code = sql`d.domain || ':' || case when d.state = 'superseded' then 's'
    when d.state in ('pending', 'failed') and exists (select 1 from org_domains e where e.domain = d.domain and e.org_id <> d.org_id
      and e.state <> 'superseded' and (coalesce(e.added_at, '') < coalesce(d.added_at, '')
        or (coalesce(e.added_at, '') = coalesce(d.added_at, '') and e.org_id < d.org_id))) then 'c'
    else 'a' end`
  const joined = kind === 'sqlite' ? sql<string | null>`group_concat(${code}, ' ')` : sql<string | null>`string_agg(${code}, ' ')`
  const policy = b.selectFrom('orgs as o').select(['o.settings', 'o.schema_version', 'o.settings_version', (eb) => eb.selectFrom('org_domains as d').select(joined.as('j'))
    .where('d.org_id', '=', arg(0)).as('domains')]).where('o.id', '=', arg(0))
  return {
    // With the version of the declared schemas, which a write checks against the one it was
    // validated with (provisioning/unique.ts). PostgreSQL: FOR KEY SHARE, so that a declaration
    // change (which takes the row FOR UPDATE) waits for the writes that read it, and a write that
    // reads it after the change waits for the change's commit and sees the new version.
    policy: prepare(kind === 'postgres' ? policy.forKeyShare('o') : policy),
    ...holdStatements(b, kind),
    domainRecords: prepare(b.selectFrom('org_domains').selectAll().where('org_id', '=', arg(0)).orderBy('domain')),
    domainRecord: prepare(b.selectFrom('org_domains').selectAll().where('org_id', '=', arg(0)).where('domain', '=', arg(1))),
    saveSettings: prepare(b.updateTable('orgs').set({ settings: arg(1) }).where('id', '=', arg(0))),
    bumpSettingsVersion: prepare(b.updateTable('orgs').set((eb) => ({ settings_version: eb('settings_version', '+', 1) })).where('id', '=', arg(0)).returning('settings_version')),
    addDomain: prepare(b.insertInto('org_domains').values({ org_id: arg(0), domain: arg(1), state: 'unverified', added_at: arg(2) }).onConflict((oc) => oc.doNothing())),
    removeDomain: prepare(b.deleteFrom('org_domains').where('org_id', '=', arg(0)).where('domain', '=', arg(1))),
    updateDomain: prepare(b.updateTable('org_domains').set({ state: arg(2), token: arg(3), detail: arg(4), checked_at: arg(5), verified_at: arg(6) })
      .where('org_id', '=', arg(0)).where('domain', '=', arg(1))),
    domainClaims: prepare(b.selectFrom('org_domains').select(['org_id', 'domain', 'state']).where('domain', '=', arg(0)).orderBy('org_id')),
    insertAudit: prepare(b.insertInto('audit_log').values({ org_id: arg(0), id: arg(1), at: arg(2), actor: arg(3), action: arg(4), details: arg(5) })),
    auditFirst: prepare(b.selectFrom('audit_log').selectAll().where('org_id', '=', arg(0)).orderBy('id', 'desc').limit(arg(1))),
    auditBefore: prepare(b.selectFrom('audit_log').selectAll().where('org_id', '=', arg(0)).where('id', '<', arg(2)).orderBy('id', 'desc').limit(arg(1))),
  }
}
export type OrgStatements = ReturnType<typeof orgStatements>

export function toDomainRecord(r: OrgDomainsTable): DomainRecord {
  return {
    domain: r.domain, state: r.state as DomainState, token: r.token, detail: r.detail,
    checkedAt: r.checked_at, verifiedAt: r.verified_at, addedAt: r.added_at,
  }
}

export function toAuditRow(r: AuditLogTable): AuditRow {
  return { id: r.id, at: r.at, actor: r.actor, action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }
}

export class KyselyOrgPolicyTx implements OrgPolicyTx {
  readonly #c: Conn
  readonly #st: OrgStatements
  readonly #kind: 'sqlite' | 'postgres'

  constructor(conn: Conn, st: OrgStatements, kind: 'sqlite' | 'postgres') {
    this.#c = conn
    this.#st = st
    this.#kind = kind
  }

  async policy(orgId: OrgId): Promise<OrgPolicy> {
    const [org] = await all<{ settings: string; domains: string | null; schema_version: number | string | null; settings_version: number | string | null }>(this.#c, this.#st.policy, [orgId])
    // Deleted since the request's token was checked (the deletion committed first on SQLite's one
    // writer; on PostgreSQL the deletion holds the row FOR UPDATE and this read waits for it): every
    // write that may add rows for the organization (a create, a change of attributes) reads its
    // policy first, so none adds rows that the deletion would leave behind.
    if (!org) throw new OrgGone(orgId)
    const domains: string[] = []
    const withheld: { domain: string; reason: WithheldReason }[] = []
    for (const entry of org.domains ? org.domains.split(' ') : []) {
      const cut = entry.lastIndexOf(':')
      const domain = entry.slice(0, cut)
      const code = entry.slice(cut + 1)
      if (code === 'a') domains.push(domain)
      else withheld.push({ domain, reason: code === 's' ? 'superseded' : 'contested' })
    }
    withheld.sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : 0))
    return { settings: readSettings(org.settings), domains: domains.sort(), withheld, schemaVersion: Number(org.schema_version ?? 0), settingsVersion: Number(org.settings_version ?? 0) }
  }

  hold(orgId: OrgId): Promise<void> {
    return runHold(this.#c, this.#st.hold, orgId)
  }

  holdShared(orgId: OrgId): Promise<void> {
    return runHold(this.#c, this.#st.holdShared, orgId)
  }

  async domains(orgId: OrgId): Promise<readonly DomainRecord[]> {
    return (await all<OrgDomainsTable>(this.#c, this.#st.domainRecords, [orgId])).map(toDomainRecord)
  }

  async saveSettings(orgId: OrgId, settings: OrgSettings): Promise<void> {
    await run(this.#c, this.#st.saveSettings, [orgId, JSON.stringify(settings)])
  }

  async bumpSettingsVersion(orgId: OrgId): Promise<number> {
    const [r] = await all<{ settings_version: number | string }>(this.#c, this.#st.bumpSettingsVersion, [orgId])
    if (!r) throw new OrgGone(orgId)
    return Number(r.settings_version)
  }

  async addDomain(orgId: OrgId, domain: string, now: string): Promise<boolean> {
    return (await run(this.#c, this.#st.addDomain, [orgId, domain, now])) === 1
  }

  async removeDomain(orgId: OrgId, domain: string): Promise<boolean> {
    return (await run(this.#c, this.#st.removeDomain, [orgId, domain])) === 1
  }

  async updateDomain(orgId: OrgId, domain: string, c: DomainChange): Promise<void> {
    const [cur] = await all<OrgDomainsTable>(this.#c, this.#st.domainRecord, [orgId, domain])
    if (!cur) return
    await run(this.#c, this.#st.updateDomain, [
      orgId, domain, c.state, c.token === undefined ? cur.token : c.token, c.detail === undefined ? cur.detail : c.detail,
      c.checkedAt === undefined ? cur.checked_at : c.checkedAt, c.verifiedAt === undefined ? cur.verified_at : c.verifiedAt,
    ])
  }

  async claims(domain: string): Promise<readonly DomainClaim[]> {
    // PostgreSQL: the domain is locked for the rest of the transaction, so two organizations
    // claiming it at once are decided one after the other (SQLite's single writer does that already).
    if (this.#kind === 'postgres') await this.#c.all("select pg_advisory_xact_lock(hashtext('roster domain ' || $1))", [domain])
    return (await all<{ org_id: string; domain: string; state: string }>(this.#c, this.#st.domainClaims, [domain]))
      .map((r) => ({ orgId: r.org_id as OrgId, domain: r.domain, state: r.state as DomainState }))
  }

  async insertAudit(orgId: OrgId, row: AuditRow): Promise<void> {
    await run(this.#c, this.#st.insertAudit, [orgId, row.id, row.at, row.actor, row.action, JSON.stringify(row.details)])
  }
}
