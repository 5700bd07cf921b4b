// A write transaction's operations (StoreTx), shared by SQLite and PostgreSQL: fixed statements
// (statements.ts) run on the transaction's Conn, which the driver's transaction hands in.
import { fold } from '../../scim/fold.ts'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type {
  GroupRef, GroupRow, LogRow, MemberDelta, MemberRow, MemberDeltaResult, MemberKey, NewApiKey, NewEvent, NewGroup, NewUser, OrgId, ResourceId, StoreTx, UserRow,
} from '../store.ts'
import type { DirectoryStatements } from './directory-statements.ts'
import type { LifecycleStatements } from './lifecycle-statements.ts'
import { KyselyInvitationTx, type InvitationStatements } from './invitation-store.ts'
import { KyselyOrgPolicyTx, type OrgStatements } from './org-policy.ts'
import { KyselySchemaTx, type SchemaStatements } from './schema-store.ts'
import { KyselyUniqueTx, type UniqueStatements } from './unique-values.ts'
import { encodeMemberList } from '../member-list.ts'
import { all, chunks, run } from './conn-helpers.ts'
import { logArgs } from './log-sql.ts'
import type { Conn, Prepared } from './prepared.ts'
import { emailRows, groupColumns, groupRefs, toGroupRow, toUserRow, userColumns, type ResourceRecord } from './rows.ts'
import { LOG_CHUNK, type Statements } from './statements.ts'

function userArgs(body: Record<string, unknown>): unknown[] {
  const c = userColumns(body)
  return [c.user_name, c.user_name_folded, c.external_id, c.active, c.display_name]
}

function groupArgs(body: Record<string, unknown>): unknown[] {
  const c = groupColumns(body)
  return [c.display_name, c.display_name_folded, c.external_id]
}

/** Events per multi-row insert on PostgreSQL (one round trip each). */
const EVENT_CHUNK = 1_000

function customJson(custom: Record<string, unknown> | null): string | null {
  return custom === null ? null : JSON.stringify(custom)
}

export class KyselyTx implements StoreTx {
  readonly #c: Conn
  readonly #st: Statements & DirectoryStatements & OrgStatements & LifecycleStatements & InvitationStatements & SchemaStatements & UniqueStatements
  readonly #d: SqlDialect
  #orgs: KyselyOrgPolicyTx | null = null
  #invitations: KyselyInvitationTx | null = null
  #schemas: KyselySchemaTx | null = null
  #unique: KyselyUniqueTx | null = null
  /** Called once the transaction has written events, so the store can announce them after the commit. */
  readonly #onEvents: () => void

  constructor(conn: Conn, st: Statements & DirectoryStatements & OrgStatements & LifecycleStatements & InvitationStatements & SchemaStatements & UniqueStatements, d: SqlDialect, onEvents: () => void = () => undefined) {
    this.#c = conn
    this.#st = st
    this.#d = d
    this.#onEvents = onEvents
  }

  get orgs(): KyselyOrgPolicyTx {
    this.#orgs ??= new KyselyOrgPolicyTx(this.#c, this.#st, this.#d.kind)
    return this.#orgs
  }

  get schemas(): KyselySchemaTx {
    this.#schemas ??= new KyselySchemaTx(this.#c, this.#st)
    return this.#schemas
  }

  get unique(): KyselyUniqueTx {
    this.#unique ??= new KyselyUniqueTx(this.#c, this.#st, this.#d)
    return this.#unique
  }

  get invitations(): KyselyInvitationTx {
    this.#invitations ??= new KyselyInvitationTx(this.#c, this.#st)
    return this.#invitations
  }

  async insertUser(orgId: OrgId, u: NewUser): Promise<void> {
    await run(this.#c, this.#st.insertUser, [
      orgId, u.id, ...userArgs(u.body), u.passwordHash, u.now, u.json ?? JSON.stringify(u.body), u.identityProvider, customJson(u.customAttributes),
      u.managedBy, u.pending ? 1 : 0, customJson(u.metadata),
    ])
    await this.#insertEmails(orgId, u.id, u.body)
  }

  async #insertEmails(orgId: OrgId, userId: string, body: Record<string, unknown>): Promise<void> {
    const rows = emailRows(body)
    if (rows.length === 0) return
    const [one] = rows
    if (rows.length === 1 && one) {
      await run(this.#c, this.#st.insertEmail, [orgId, userId, one.value_folded, one.type, one.is_primary])
      return
    }
    await run(this.#c, this.#st.insertEmails, [orgId, userId, this.#d.records(rows.map((r) => ({ v: r.value_folded, t: r.type, p: r.is_primary })))])
  }

  async adoptUser(orgId: OrgId, id: ResourceId, identityProvider: string | null): Promise<void> {
    await run(this.#c, this.#st.adoptUser, [orgId, id, identityProvider])
  }

  async setPending(orgId: OrgId, id: ResourceId, pending: boolean, now: string): Promise<void> {
    await run(this.#c, this.#st.setPending, [orgId, id, now, pending ? 1 : 0])
  }

  async setMetadata(orgId: OrgId, id: ResourceId, metadata: Record<string, unknown> | null, now: string, newVersion: boolean): Promise<void> {
    if (newVersion) await run(this.#c, this.#st.setMetadata, [orgId, id, now, customJson(metadata)])
    else await run(this.#c, this.#st.setMetadataOnly, [orgId, id, customJson(metadata)])
  }

  async keepDeletedUser(orgId: OrgId, id: ResourceId, kept: { deletedAt: string; purgeAt: string; data: object }): Promise<void> {
    await run(this.#c, this.#st.keepDeletedUser, [orgId, id, kept.deletedAt, kept.purgeAt, JSON.stringify(kept.data)])
  }

  async purgeDeletedUser(orgId: OrgId, id: ResourceId): Promise<boolean> {
    return (await run(this.#c, this.#st.purgeDeletedUser, [orgId, id])) === 1
  }

  async getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null> {
    const [row] = await all<ResourceRecord>(this.#c, this.#st.userForUpdate, [orgId, id])
    return row ? toUserRow(row) : null
  }

  async userGroups(orgId: OrgId, id: ResourceId): Promise<readonly GroupRef[]> {
    const [row] = await all<{ groups: string }>(this.#c, this.#st.userGroupsOf, [orgId, id])
    return row ? groupRefs(row.groups) : []
  }

  async updateUser(
    orgId: OrgId, id: ResourceId, body: Record<string, unknown>, previous: Record<string, unknown>, passwordHash: string | null | undefined,
    version: number, now: string, customAttributes?: Record<string, unknown> | null,
  ): Promise<void> {
    await run(this.#c, this.#st.updateUser, [orgId, id, ...userArgs(body), version + 1, now, JSON.stringify(body)])
    if (passwordHash !== undefined) await run(this.#c, this.#st.updateUserPassword, [orgId, id, passwordHash])
    if (customAttributes !== undefined) await run(this.#c, this.#st.updateUserCustom, [orgId, id, customJson(customAttributes)])
    // Rewrite the email index only when the emails changed.
    if (JSON.stringify(emailRows(previous)) !== JSON.stringify(emailRows(body))) {
      await run(this.#c, this.#st.deleteEmails, [orgId, id])
      await this.#insertEmails(orgId, id, body)
    }
  }

  async deleteUser(orgId: OrgId, id: ResourceId, now: string): Promise<readonly GroupRow[] | null> {
    if ((await run(this.#c, this.#st.deleteUser, [orgId, id])) === 0) return null
    await run(this.#c, this.#st.deleteEmails, [orgId, id])
    await run(this.#c, this.#st.deleteResourceUniques, [orgId, id])
    return this.#leaveGroups(orgId, id, now)
  }

  /** Deletes the rows that make `memberId` a member of groups; each such group loses one from its count and moves to a new version. */
  async #leaveGroups(orgId: OrgId, memberId: ResourceId, now: string): Promise<readonly GroupRow[]> {
    if (this.#d.kind === 'postgres') {
      // PostgreSQL: the groups' rows are locked first, in id order, and only then do the membership
      // rows go. One UPDATE of several groups locks them in whatever order its plan meets them, so
      // two deletes of users who share groups deadlocked (each holding a group the other waited
      // for; measured: 1,912 deadlocks, each a second's wait, in a 20,000-user delete phase); and
      // a member PATCH holds its group before it deletes membership rows, the order kept here.
      // (SQLite has one writer: nothing to order.)
      await all(this.#c, this.#st.lockMemberGroups, [orgId, memberId])
    }
    const groups = await all<{ key: unknown }>(this.#c, this.#st.deleteMemberships, [orgId, memberId])
    if (groups.length === 0) return []
    const out: GroupRow[] = []
    for (const part of chunks(groups.map((g) => this.#d.keyText(g.key)))) {
      for (const r of await all<ResourceRecord>(this.#c, this.#st.leaveGroups, [orgId, this.#d.ids(part), now])) out.push(toGroupRow(r))
    }
    return out
  }

  async insertGroup(orgId: OrgId, g: NewGroup): Promise<void> {
    await run(this.#c, this.#st.insertGroup, [orgId, g.id, ...groupArgs(g.body), g.now, JSON.stringify(g.body), g.identityProvider])
  }

  groupMembers(orgId: OrgId, id: ResourceId): Promise<MemberRow[]> {
    return all<MemberRow>(this.#c, this.#st.members, [orgId, id])
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

  async deleteGroup(orgId: OrgId, id: ResourceId, now: string): Promise<readonly GroupRow[] | null> {
    if ((await run(this.#c, this.#st.deleteGroup, [orgId, id])) === 0) return null
    await run(this.#c, this.#st.deleteAllMembers, [orgId, id])
    await run(this.#c, this.#st.deleteResourceUniques, [orgId, id])
    return this.#leaveGroups(orgId, id, now)
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

  async addNewUserMembers(orgId: OrgId, groupId: ResourceId, ids: readonly string[]): Promise<MemberDeltaResult | null> {
    // SQLite only: a savepoint undoes the partial insert of a list that was not all new users (on
    // PostgreSQL a savepoint is two more round trips, as much as the read it saves).
    if (this.#d.kind !== 'sqlite' || ids.length === 0) return null
    if (!(await this.#insertAllOrNone(this.#st.insertUserMembers, [orgId, groupId, this.#d.ids(ids)], ids.length))) return null
    await run(this.#c, this.#st.addMemberCount, [orgId, groupId, ids.length])
    return { added: ids.map((id) => ({ id, type: 'User' })), removed: [] }
  }

  async applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<MemberDeltaResult> {
    const keys = (rows: { key: unknown; type: string }[]): MemberKey[] => rows.map((r) => ({ id: this.#d.keyText(r.key), type: r.type === 'Group' ? 'Group' : 'User' }))
    type Returned = { key: unknown; type: string }
    let removed: MemberKey[] = []
    if (delta.removeAll || delta.replaceAll) removed = keys(await all<Returned>(this.#c, this.#st.removeAllMembers, [orgId, groupId]))
    for (const part of chunks(delta.remove)) removed.push(...keys(await all<Returned>(this.#c, this.#st.deleteSomeMembers, [orgId, groupId, this.#d.ids(part)])))
    let added: MemberKey[] = []
    const seen = new Set<string>()
    const rows = [...(delta.replaceAll ?? []), ...delta.add]
      .filter((m) => !seen.has(m.value) && seen.add(m.value))
      .map((m) => ({ v: m.value, t: m.type ?? 'User' }))
    // After a delete-all nothing is a member; else the ids that are members already are not
    // added (the group's row is held for update, so nothing else changes its members meanwhile).
    const noneAreMembers = delta.removeAll || delta.replaceAll !== null
    for (const part of chunks(rows)) {
      let fresh = part
      if (noneAreMembers) await run(this.#c, this.#st.insertMembers, [orgId, groupId, this.#d.records(part)])
      else if (!(await this.#insertIfAllNew(orgId, groupId, part))) {
        fresh = await this.#notMembers(orgId, groupId, part)
        if (fresh.length > 0) await run(this.#c, this.#st.insertMembers, [orgId, groupId, this.#d.records(fresh)])
      }
      for (const r of fresh) added.push({ id: r.v, type: r.t === 'Group' ? 'Group' : 'User' })
    }
    const net = added.length - removed.length
    if (delta.replaceAll && removed.length > 0 && added.length > 0) {
      // A replace deletes every row and inserts the new list: a member in both was never removed.
      const before = new Set(removed.map((m) => m.id))
      const after = new Set(added.map((m) => m.id))
      added = added.filter((m) => !before.has(m.id))
      removed = removed.filter((m) => !after.has(m.id))
    }
    if (net !== 0) await run(this.#c, this.#st.addMemberCount, [orgId, groupId, net])
    return { added, removed }
  }

  /**
   * SQLite: inserts the members when none of them is a member already, the usual case (an
   * identity provider adds the users it has not added), and says whether it did. Else it undoes
   * the insert, and the caller reads which are members: one statement instead of a read and an
   * insert (the read was a tenth of a 100-member PATCH). PostgreSQL always reads first: undoing
   * there is a round trip more.
   */
  async #insertIfAllNew(orgId: OrgId, groupId: ResourceId, part: readonly { v: string; t: string }[]): Promise<boolean> {
    if (this.#d.kind !== 'sqlite') return false
    return this.#insertAllOrNone(this.#st.insertMembers, [orgId, groupId, this.#d.records(part)], part.length)
  }

  /** SQLite: runs the insert in a savepoint and keeps it only when it wrote `expected` rows. */
  async #insertAllOrNone(p: Prepared, args: readonly unknown[], expected: number): Promise<boolean> {
    await this.#c.run('SAVEPOINT member_add', [])
    const n = await run(this.#c, p, args)
    if (n !== expected) await this.#c.run('ROLLBACK TO member_add', [])
    await this.#c.run('RELEASE member_add', [])
    return n === expected
  }

  async #notMembers<R extends { v: string }>(orgId: OrgId, groupId: ResourceId, part: R[]): Promise<R[]> {
    const present = new Set((await all<{ key: unknown }>(this.#c, this.#st.memberKeysAmong, [orgId, groupId, this.#d.ids(part.map((r) => r.v))])).map((r) => this.#d.keyText(r.key)))
    return present.size === 0 ? part : part.filter((r) => !present.has(r.v))
  }

  async insertEvents(orgId: OrgId, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return
    const count = (e: NewEvent) => e.members?.length ?? 1
    const members = (e: NewEvent) => (e.members === null ? null : encodeMemberList(e.members))
    if (this.#d.kind === 'sqlite') {
      // One prepared single-row insert after another: cheaper on SQLite than unpacking a JSON list
      // (the provisioning log's appendLog measured the same). Each row takes the positions after the last.
      for (const e of events) {
        await run(this.#c, this.#st.insertEvent, [orgId, e.id, count(e), e.type, e.resourceType, e.resourceId, e.lane, e.version, e.at, e.payload, members(e)])
      }
    } else {
      for (const part of chunks(events, EVENT_CHUNK)) {
        await run(this.#c, this.#st.insertEvents, [orgId, this.#d.records(part.map((e) => ({
          i: e.id, n: count(e), t: e.type, rt: e.resourceType, r: e.resourceId, l: e.lane, v: e.version, a: e.at, p: e.payload, m: members(e),
        })))])
      }
    }
    this.#onEvents()
  }

  async createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void> {
    await run(this.#c, this.#st.insertOrg, [org.id, org.name, fold(org.name), org.now])
    for (const domain of new Set(org.domains.map((d) => d.toLowerCase()))) await run(this.#c, this.#st.insertDomain, [org.id, domain, org.now])
  }

  async renameOrg(orgId: OrgId, name: string): Promise<boolean> {
    return (await run(this.#c, this.#st.renameOrg, [orgId, name, fold(name)])) > 0
  }

  async replaceToken(orgId: OrgId, t: { id: string; hash: string; prefix: string; lastFour?: string; now: string }): Promise<void> {
    await run(this.#c, this.#st.revokeTokens, [orgId, t.now])
    await run(this.#c, this.#st.insertToken, [orgId, t.id, t.hash, t.prefix, t.now, t.lastFour ?? null])
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

  async insertApiKey(k: NewApiKey): Promise<void> {
    await run(this.#c, this.#st.insertApiKey, [k.id, k.name, k.hash, k.prefix, k.now, k.orgId, k.scopes.join(' '), k.expiresAt])
  }

  revokeApiKey(idOrName: string, now: string): Promise<number> {
    return run(this.#c, this.#st.revokeApiKey, [idOrName, now])
  }
}
