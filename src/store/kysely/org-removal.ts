// Deleting an organization whole (store/operations-store.ts, docs/operations.md "Deleting an
// organization"): every table that holds its rows, in one transaction on the writer, so that
// either all of it goes or none. Its credentials go with it: the SCIM token and API key lookups
// read these tables on every request, so the next request with one is a 401.
import { sql, type RawBuilder } from 'kysely'
import type { OrgDeletionAudit, OrgDeletionCounts, OrgRemovalStore } from '../operations-store.ts'
import type { OrgId } from '../store.ts'
import type { Conn } from './prepared.ts'
import { RawQueries } from './raw-queries.ts'
import type { StoreDriver } from './store-driver.ts'

/** Tables keyed by org_id whose rows simply go (the counted ones are deleted by name below). */
const PLAIN_TABLES = ['user_emails', 'deleted_users', 'webhook_attempts', 'unique_values', 'audit_log'] as const

export class KyselyOrgRemoval implements OrgRemovalStore {
  readonly #d: StoreDriver
  readonly #q: RawQueries

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.#q = new RawQueries(driver)
  }

  deleteOrg(orgId: OrgId, audit: OrgDeletionAudit): Promise<OrgDeletionCounts | null> {
    // Not a log-only transaction: users, groups and memberships change, so list caches start over.
    return this.#d.transaction(async (conn) => {
      const run = (q: RawBuilder<unknown>) => this.#q.run(conn, q)
      const lock = this.#q.pg ? sql` for update` : sql``
      const [org] = await this.#q.all<{ id: string }>(conn, sql`select id from orgs where id = ${orgId}${lock}`)
      if (!org) return null
      // A row holds `count` events (a membership change's, one per member): the events, not the rows, are counted.
      const [ev] = await this.#q.all<{ n: number | string | null }>(conn, sql`select sum(count) as n from events where org_id = ${orgId}`)
      // Pending deliveries by their endpoints, before those go: they are indexed by endpoint, not by
      // organization. PostgreSQL: the endpoints are held first, as a fan-out, a redelivery or a
      // completion holds one while it writes deliveries; deleting the deliveries before holding
      // the endpoint let a fan-out that held it commit new ones after, left with no endpoint.
      for (const e of await this.#q.all<{ id: string }>(conn, sql`select id from webhook_endpoints where org_id = ${orgId}${lock}`)) {
        await run(sql`delete from webhook_deliveries where endpoint_id = ${e.id} and org_id = ${orgId}`)
      }
      const members = await this.#q.all<{ account_id: string }>(conn, sql`select account_id from console_roles where org_id = ${orgId}`)
      const counts: OrgDeletionCounts = {
        scimTokens: await run(sql`delete from scim_tokens where org_id = ${orgId}`),
        apiKeys: await run(sql`delete from api_keys where org_id = ${orgId}`),
        users: await run(sql`delete from users where org_id = ${orgId}`),
        groups: await run(sql`delete from groups where org_id = ${orgId}`),
        memberships: await run(sql`delete from group_members where org_id = ${this.#d.sql.idKey(sql`${orgId}`)}`),
        domains: await run(sql`delete from org_domains where org_id = ${orgId}`),
        schemas: await run(sql`delete from org_schemas where org_id = ${orgId}`),
        webhooks: await run(sql`delete from webhook_endpoints where org_id = ${orgId}`),
        invitations: await run(sql`delete from invitations where org_id = ${orgId}`),
        events: Number(ev?.n ?? 0),
        logRows: await run(sql`delete from provisioning_log where org_id = ${orgId}`),
        consoleMembers: await run(sql`delete from console_roles where org_id = ${orgId}`),
        consoleAccounts: await this.#deleteOrphanAccounts(conn, members.map((m) => m.account_id)),
      }
      await run(sql`delete from events where org_id = ${orgId}`)
      for (const table of PLAIN_TABLES) await run(sql`delete from ${sql.table(table)} where org_id = ${orgId}`)
      await run(sql`delete from orgs where id = ${orgId}`)
      await run(sql`insert into audit_log (org_id, id, at, actor, action, details)
        values (${orgId}, ${audit.id}, ${audit.at}, ${audit.actor}, 'organization.deleted', ${JSON.stringify({ ...audit.details, deleted: counts })})`)
      return counts
    })
  }

  /** The accounts among `ids` left with no role anywhere and not the operator's: with their sessions and links. */
  async #deleteOrphanAccounts(conn: Conn, ids: readonly string[]): Promise<number> {
    let n = 0
    for (const id of ids) {
      const [orphan] = await this.#q.all<{ id: string }>(conn, sql`select a.id from console_accounts a where a.id = ${id} and a.operator = 0
        and not exists (select 1 from console_roles r where r.account_id = a.id)`)
      if (!orphan) continue
      await this.#q.run(conn, sql`delete from console_sessions where account_id = ${id}`)
      await this.#q.run(conn, sql`delete from console_links where account_id = ${id}`)
      n += await this.#q.run(conn, sql`delete from console_accounts where id = ${id}`)
    }
    return n
  }
}
