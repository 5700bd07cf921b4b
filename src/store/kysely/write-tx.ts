// A write transaction's operations (StoreTx), shared by SQLite and PostgreSQL: fixed statements
// (statements.ts) run on the transaction's Conn, which the driver's transaction hands in.
import { fold } from '../../scim/fold.ts'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type { GroupRow, LogRow, MemberDelta, NewGroup, NewUser, OrgId, ResourceId, StoreTx, UserRow } from '../store.ts'
import { all, chunks, run } from './conn-helpers.ts'
import { logArgs } from './log-sql.ts'
import type { Conn } from './prepared.ts'
import { emailRows, groupColumns, toGroupRow, toUserRow, userColumns, type ResourceRecord } from './rows.ts'
import { LOG_CHUNK, type Statements } from './statements.ts'

function userArgs(body: Record<string, unknown>): unknown[] {
  const c = userColumns(body)
  return [c.user_name, c.user_name_folded, c.external_id, c.active, c.display_name]
}

function groupArgs(body: Record<string, unknown>): unknown[] {
  const c = groupColumns(body)
  return [c.display_name, c.display_name_folded, c.external_id]
}

export class KyselyTx implements StoreTx {
  readonly #c: Conn
  readonly #st: Statements
  readonly #d: SqlDialect

  constructor(conn: Conn, st: Statements, d: SqlDialect) {
    this.#c = conn
    this.#st = st
    this.#d = d
  }

  async insertUser(orgId: OrgId, u: NewUser): Promise<void> {
    await run(this.#c, this.#st.insertUser, [orgId, u.id, ...userArgs(u.body), u.passwordHash, u.now, JSON.stringify(u.body)])
    await this.#insertEmails(orgId, u.id, u.body)
  }

  async #insertEmails(orgId: OrgId, userId: string, body: Record<string, unknown>): Promise<void> {
    const rows = emailRows(body)
    if (rows.length === 0) return
    await run(this.#c, this.#st.insertEmails, [orgId, userId, this.#d.records(rows.map((r) => ({ v: r.value_folded, t: r.type, p: r.is_primary })))])
  }

  async getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null> {
    const [row] = await all<ResourceRecord>(this.#c, this.#st.userForUpdate, [orgId, id])
    return row ? toUserRow(row) : null
  }

  async updateUser(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, previous: Record<string, unknown>, passwordHash: string | null | undefined, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.updateUser, [orgId, id, ...userArgs(body), version + 1, now, JSON.stringify(body)])
    if (passwordHash !== undefined) await run(this.#c, this.#st.updateUserPassword, [orgId, id, passwordHash])
    // Rewrite the email index only when the emails changed.
    if (JSON.stringify(emailRows(previous)) !== JSON.stringify(emailRows(body))) {
      await run(this.#c, this.#st.deleteEmails, [orgId, id])
      await this.#insertEmails(orgId, id, body)
    }
  }

  async deleteUser(orgId: OrgId, id: ResourceId): Promise<boolean> {
    if ((await run(this.#c, this.#st.deleteUser, [orgId, id])) === 0) return false
    await run(this.#c, this.#st.deleteEmails, [orgId, id])
    await run(this.#c, this.#st.deleteMemberships, [orgId, id])
    return true
  }

  async insertGroup(orgId: OrgId, g: NewGroup): Promise<void> {
    await run(this.#c, this.#st.insertGroup, [orgId, g.id, ...groupArgs(g.body), g.now, JSON.stringify(g.body)])
  }

  async getGroupForUpdate(orgId: OrgId, id: ResourceId): Promise<GroupRow | null> {
    const [row] = await all<ResourceRecord>(this.#c, this.#st.groupForUpdate, [orgId, id])
    return row ? toGroupRow(row) : null
  }

  async updateGroup(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.updateGroup, [orgId, id, ...groupArgs(body), version + 1, now, JSON.stringify(body)])
  }

  async touchGroup(orgId: OrgId, id: ResourceId, version: number, now: string): Promise<void> {
    await run(this.#c, this.#st.touchGroup, [orgId, id, version + 1, now])
  }

  async deleteGroup(orgId: OrgId, id: ResourceId): Promise<boolean> {
    if ((await run(this.#c, this.#st.deleteGroup, [orgId, id])) === 0) return false
    await run(this.#c, this.#st.deleteAllMembers, [orgId, id])
    await run(this.#c, this.#st.deleteMemberships, [orgId, id])
    return true
  }

  async resolveMembers(orgId: OrgId, ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>> {
    const out = new Map<string, 'User' | 'Group'>()
    for (const part of chunks([...new Set(ids)])) {
      const users = await all<{ id: string }>(this.#c, this.#st.existingUsers, [orgId, this.#d.ids(part)])
      for (const u of users) out.set(u.id, 'User')
      if (users.length === part.length) continue
      for (const g of await all<{ id: string }>(this.#c, this.#st.existingGroups, [orgId, this.#d.ids(part)])) out.set(g.id, 'Group')
    }
    return out
  }

  async applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<{ added: number; removed: number }> {
    let removed = 0
    if (delta.removeAll || delta.replaceAll) removed += await run(this.#c, this.#st.deleteAllMembers, [orgId, groupId])
    for (const part of chunks(delta.remove)) removed += await run(this.#c, this.#st.deleteSomeMembers, [orgId, groupId, this.#d.ids(part)])
    let added = 0
    const seen = new Set<string>()
    const rows = [...(delta.replaceAll ?? []), ...delta.add]
      .filter((m) => !seen.has(m.value) && seen.add(m.value))
      .map((m) => ({ v: m.value, t: m.type ?? 'User' }))
    for (const part of chunks(rows)) added += await run(this.#c, this.#st.insertMembers, [orgId, groupId, this.#d.records(part)])
    return { added, removed }
  }

  async createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void> {
    await run(this.#c, this.#st.insertOrg, [org.id, org.name, fold(org.name), org.now])
    for (const domain of new Set(org.domains.map((d) => d.toLowerCase()))) await run(this.#c, this.#st.insertDomain, [org.id, domain])
  }

  async replaceToken(orgId: OrgId, t: { id: string; hash: string; prefix: string; now: string }): Promise<void> {
    await run(this.#c, this.#st.revokeTokens, [orgId, t.now])
    await run(this.#c, this.#st.insertToken, [orgId, t.id, t.hash, t.prefix, t.now])
  }

  async insertLog(orgId: OrgId, row: LogRow): Promise<void> {
    await run(this.#c, this.#st.insertLog, logArgs(orgId, row))
  }

  async appendLog(rows: readonly { readonly orgId: OrgId; readonly row: LogRow }[]): Promise<void> {
    // PostgreSQL: LOG_CHUNK rows per round trip. SQLite has no round trip, and there one
    // prepared single-row insert after another measured faster than a wide statement, and than
    // one statement unpacking a JSON list of rows (15 vs 23 µs a row, json_each re-reading
    // each row's JSON for every column).
    const chunk = this.#d.kind === 'postgres' ? LOG_CHUNK : Number.POSITIVE_INFINITY
    let i = 0
    for (; i + chunk <= rows.length; i += chunk) {
      await run(this.#c, this.#st.insertLogChunk, rows.slice(i, i + LOG_CHUNK).flatMap((r) => logArgs(r.orgId, r.row)))
    }
    for (; i < rows.length; i++) {
      const r = rows[i] as { orgId: OrgId; row: LogRow }
      await run(this.#c, this.#st.insertLog, logArgs(r.orgId, r.row))
    }
  }

  async insertApiKey(k: { id: string; name: string; hash: string; prefix: string; now: string }): Promise<void> {
    await run(this.#c, this.#st.insertApiKey, [k.id, k.name, k.hash, k.prefix, k.now])
  }

  revokeApiKey(idOrName: string, now: string): Promise<number> {
    return run(this.#c, this.#st.revokeApiKey, [idOrName, now])
  }
}
