// The Store over Kysely, shared by SQLite and PostgreSQL. Kysely compiles the SQL for the
// dialect; fixed statements are compiled once (statements.ts) and run through a Conn, which keeps
// the database's prepared statement. What differs between the databases (how a write
// transaction runs, SQL spellings, error codes) is handed in as a StoreDriver (store-driver.ts).
// Lists are paged by a ListPager (list-pager.ts); writes run in a KyselyTx (write-tx.ts).
import { sql } from 'kysely'
import { readSettings } from '../../orgs/settings.ts'
import type { AuditRow } from '../org-store.ts'
import { fold } from '../../scim/fold.ts'
import { groupResource, userResource } from '../../scim/schema/registry.ts'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import type {
  ApiKeyRow, DirectoryPageQuery, GroupRef, GroupRow, ListQuery, ListResult, LogQuery, LogRow, MemberRow, OrgId, OrgRow,
  QueueDepths, ReadOptions, ResourceId, Store, StoreTx, StoredEvents, UserRow,
} from '../store.ts'
import { DirectoryReads } from './directory-reads.ts'
import { directoryStatements, type DirectoryStatements } from './directory-statements.ts'
import { all, chunks, run } from './conn-helpers.ts'
import { lifecycleStatements, type LifecycleStatements } from './lifecycle-statements.ts'
import { ListPager, NO_MATCH, onePage } from './list-pager.ts'
import { orgStatements, toAuditRow, toDomainRecord, type OrgStatements } from './org-policy.ts'
import type { Conn } from './prepared.ts'
import { groupRefs, NO_GROUPS, toGroupRow, toUserRow, type ResourceRecord } from './rows.ts'
import { logArgs } from './log-sql.ts'
import { countLog, listLog } from './log-reads.ts'
import type { ApiKeysTable, AuditLogTable, OrgDomainsTable } from './schema.ts'
import { statements, type Statements } from './statements.ts'
import type { StoreDriver } from './store-driver.ts'
import { KyselyTx } from './write-tx.ts'
import { queueDepths } from './queue-depths.ts'
import { KyselyWebhooks } from './webhook-store.ts'
import { rateLimitBuckets } from './rate-limit-buckets.ts'
import type { RateLimitBuckets } from '../rate-limit-store.ts'
import type { Deadline } from '../deadline.ts'
import { KyselyInvitations, invitationStatements, type InvitationStatements } from './invitation-store.ts'
import { KyselySchemas, schemaStatements, type SchemaStatements } from './schema-store.ts'
import { uniqueStatements, type UniqueStatements } from './unique-values.ts'
import { KyselyConsole } from './console-store.ts'
import { KyselyOrgRemoval } from './org-removal.ts'
import { KyselyServerInfo } from './server-info.ts'

interface OrgRecord { id: string; name: string; created_at: string; settings: string; settings_version: number | string }

interface GroupOfRecord { member_id: string; id: string; display_name: string }

/** The groups of a list page's users, by user id (ids in chunks of CHUNK). */
async function groupsOf(conn: Conn, st: Statements, d: SqlDialect, orgId: OrgId, userIds: readonly string[]): Promise<Map<string, GroupRef[]>> {
  const out = new Map<string, GroupRef[]>()
  for (const part of chunks(userIds)) {
    for (const r of await all<GroupOfRecord>(conn, st.groupsOf, [orgId, d.ids(part)])) {
      const list = out.get(r.member_id) ?? []
      list.push({ value: r.id, display: r.display_name })
      out.set(r.member_id, list)
    }
  }
  return out
}

function toApiKeyRow(k: Omit<ApiKeysTable, 'hash'>): ApiKeyRow {
  return {
    id: k.id, name: k.name, prefix: k.prefix, createdAt: k.created_at, revokedAt: k.revoked_at,
    orgId: k.org_id as OrgId | null, scopes: k.scopes.split(' ').filter((s) => s !== ''), expiresAt: k.expires_at, lastUsedAt: k.last_used_at,
  }
}

export class KyselyStore implements Store {
  readonly kind: 'sqlite' | 'postgres'
  readonly #d: StoreDriver
  readonly #st: Statements & DirectoryStatements & OrgStatements & LifecycleStatements & InvitationStatements & SchemaStatements & UniqueStatements
  readonly #pager: ListPager
  readonly #dir: DirectoryReads
  readonly #eventListeners = new Set<() => void>()
  readonly webhooks: KyselyWebhooks
  readonly invitations: KyselyInvitations
  readonly schemas: KyselySchemas
  readonly rateLimitBuckets: RateLimitBuckets | null
  readonly console: KyselyConsole
  readonly orgRemoval: KyselyOrgRemoval
  readonly serverInfo: KyselyServerInfo

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.kind = driver.kind
    this.#st = {
      ...statements(driver.builder, driver.sql, driver.lockRows), ...directoryStatements(driver.builder, driver.sql), ...orgStatements(driver.builder, driver.kind),
      ...lifecycleStatements(driver.builder), ...invitationStatements(driver.builder, driver.lockRows), ...schemaStatements(driver.builder),
      ...uniqueStatements(driver.builder, driver.sql, driver.lockRows), ...driver.statements,
    }
    this.#pager = new ListPager(driver)
    this.#dir = new DirectoryReads(driver, this.#st)
    this.webhooks = new KyselyWebhooks(driver, {
      insert: (conn, orgId, events) => new KyselyTx(conn, this.#st, driver.sql).insertEvents(orgId, events),
      committed: () => this.#eventsCommitted(),
    })
    this.invitations = new KyselyInvitations(driver)
    this.schemas = new KyselySchemas(driver, this.#st)
    this.rateLimitBuckets = rateLimitBuckets(driver)
    this.console = new KyselyConsole(driver)
    this.orgRemoval = new KyselyOrgRemoval(driver)
    this.serverInfo = new KyselyServerInfo(driver)
    if (driver.eventStamper) driver.eventStamper.onStamped = () => this.#announceEvents()
  }

  async write<T>(fn: (tx: StoreTx) => Promise<T>, deadline?: Deadline): Promise<T> {
    let wroteEvents = false
    const value = await this.#d.transaction((conn) => fn(new KyselyTx(conn, this.#st, this.#d.sql, () => {
      wroteEvents = true
    })), deadline ? { deadline } : undefined)
    if (wroteEvents) this.#eventsCommitted()
    return value
  }

  /** A transaction that wrote events has committed: PostgreSQL's stamper gives them positions, then tells; SQLite's are readable now. */
  #eventsCommitted(): void {
    if (this.#d.eventStamper) this.#d.eventStamper.kick()
    else this.#announceEvents()
  }

  #announceEvents(): void {
    for (const listener of this.#eventListeners) listener()
  }

  onEvents(listener: () => void): () => void {
    this.#eventListeners.add(listener)
    return () => this.#eventListeners.delete(listener)
  }

  readEvents(orgId: OrgId, after: number, limit: number, types: readonly string[] | null): Promise<readonly StoredEvents[]> {
    return this.#dir.readEvents(orgId, after, limit, types)
  }

  eventBounds(orgId: OrgId): Promise<{ oldest: number | null; newest: number }> {
    return this.#dir.eventBounds(orgId)
  }

  pruneEvents(before: string, limit: number): Promise<number> {
    return this.#dir.pruneEvents(before, limit)
  }

  directoryUsers(orgId: OrgId, query: DirectoryPageQuery): Promise<readonly UserRow[]> {
    return this.#dir.users(orgId, query)
  }

  directoryGroups(orgId: OrgId, query: DirectoryPageQuery): Promise<readonly GroupRow[]> {
    return this.#dir.groups(orgId, query)
  }

  directoryUser(orgId: OrgId, by: 'id' | 'externalId' | 'userName', value: string): Promise<UserRow | null> {
    return this.#dir.user(orgId, by, value)
  }

  directoryGroup(orgId: OrgId, id: ResourceId): Promise<GroupRow | null> {
    return this.#dir.group(orgId, id)
  }

  groupMembersPage(orgId: OrgId, groupId: ResourceId, after: string | null, limit: number): Promise<readonly MemberRow[]> {
    return this.#dir.members(orgId, groupId, after, limit)
  }

  userGroupsPage(orgId: OrgId, userId: ResourceId, after: string | null, limit: number): Promise<readonly GroupRow[]> {
    return this.#dir.userGroups(orgId, userId, after, limit)
  }

  appendLog(rows: readonly { readonly orgId: OrgId; readonly row: LogRow }[]): Promise<void> {
    const file = this.#d.logFile
    if (file) return file.append(rows.map((r) => logArgs(r.orgId, r.row)))
    return this.#d.transaction((conn) => new KyselyTx(conn, this.#st, this.#d.sql).appendLog(rows), { logOnly: true })
  }

  async pruneLog(orgId: OrgId, beforeId: string, limit: number): Promise<number> {
    // The log file first; the main table once the file has fewer than `limit` left to delete.
    const inFile = this.#d.logFile ? await this.#d.logFile.prune(orgId, beforeId, limit) : 0
    if (inFile >= limit) return inFile
    return inFile + await this.#d.transaction((conn) => run(conn, this.#st.pruneLog, [orgId, beforeId, limit - inFile]), { logOnly: true })
  }

  orgByTokenHash(hash: string): Promise<OrgId | null> {
    return this.#d.read(async () => {
      const [row] = await all<{ org_id: string }>(this.#d.reader, this.#st.tokenOrg, [hash])
      return row ? (row.org_id as OrgId) : null
    })
  }

  tokenOrg(hash: string): Promise<{ orgId: OrgId; schemaVersion: number } | null> {
    return this.#d.read(async () => {
      const [row] = await all<{ org_id: string; schema_version: number | string }>(this.#d.reader, this.#st.tokenOrgVersion, [hash])
      return row ? { orgId: row.org_id as OrgId, schemaVersion: Number(row.schema_version) } : null
    })
  }

  getOrg(idOrName: string): Promise<OrgRow | null> {
    return this.#d.read(async () => {
      const [row] = (await all<OrgRecord>(this.#d.reader, this.#st.orgById, [idOrName]))
      const found = row ?? (await all<OrgRecord>(this.#d.reader, this.#st.orgByName, [fold(idOrName)]))[0]
      return found ? this.#orgRow(found) : null
    })
  }

  listOrgs(): Promise<readonly OrgRow[]> {
    return this.#d.read(async () => {
      const rows = await all<OrgRecord>(this.#d.reader, this.#st.orgs, [])
      return Promise.all(rows.map((r) => this.#orgRow(r)))
    })
  }

  orgIds(): Promise<readonly OrgId[]> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.orgIds, [])).map((r) => r.id as OrgId))
  }

  orgOfRevokedToken(hash: string): Promise<OrgId | null> {
    return this.#d.read(async () => ((await all<{ org_id: string }>(this.#d.reader, this.#st.revokedTokenOrg, [hash]))[0]?.org_id ?? null) as OrgId | null)
  }

  listLog(orgId: OrgId, query: LogQuery): Promise<readonly LogRow[]> {
    return listLog(this.#d, orgId, query)
  }

  countLog(orgId: OrgId, query: LogQuery): Promise<number> {
    return countLog(this.#d, orgId, query)
  }

  apiKeyByHash(hash: string): Promise<ApiKeyRow | null> {
    return this.#d.read(async () => {
      const [k] = await all<Omit<ApiKeysTable, 'hash'>>(this.#d.reader, this.#st.apiKeyByHash, [hash])
      return k ? toApiKeyRow(k) : null
    })
  }

  async touchApiKey(id: string, now: string): Promise<void> {
    // Changes no user, group or membership: list caches stay valid.
    await this.#d.transaction((conn) => run(conn, this.#st.touchApiKey, [id, now]), { logOnly: true })
  }

  listApiKeys(): Promise<readonly ApiKeyRow[]> {
    return this.#d.read(async () => (await all<Omit<ApiKeysTable, 'hash'>>(this.#d.reader, this.#st.apiKeys, [])).map(toApiKeyRow))
  }

  async #orgRow(r: OrgRecord): Promise<OrgRow> {
    const domainRecords = (await all<OrgDomainsTable>(this.#d.reader, this.#st.domainRecords, [r.id])).map(toDomainRecord)
    return {
      id: r.id as OrgId, name: r.name, createdAt: r.created_at, domains: domainRecords.map((d) => d.domain), domainRecords,
      settings: readSettings(r.settings), settingsVersion: Number(r.settings_version),
    }
  }

  deletedUser(orgId: OrgId, id: ResourceId): Promise<Record<string, unknown> | null> {
    return this.#d.read(async () => {
      const [row] = await all<{ data: string }>(this.#d.reader, this.#st.deletedUser, [orgId, id])
      return row ? (JSON.parse(row.data) as Record<string, unknown>) : null
    })
  }

  deletedUsers(orgId: OrgId, q: { after: string | null; limit: number; deletedSince: string | null }): Promise<readonly Record<string, unknown>[]> {
    return this.#d.read(async () => (await all<{ data: string }>(this.#d.reader, this.#st.deletedUsersPage, [orgId, q.after ?? '', q.limit, q.deletedSince ?? '']))
      .map((r) => JSON.parse(r.data) as Record<string, unknown>))
  }

  duePurges(now: string, limit: number): Promise<readonly { orgId: OrgId; id: ResourceId; data: Record<string, unknown> }[]> {
    return this.#d.read(async () => (await all<{ org_id: string; id: string; data: string }>(this.#d.reader, this.#st.duePurges, [now, limit]))
      .map((r) => ({ orgId: r.org_id as OrgId, id: r.id as ResourceId, data: JSON.parse(r.data) as Record<string, unknown> })))
  }

  listAudit(orgId: OrgId, limit: number, before: string | null): Promise<readonly AuditRow[]> {
    return this.#d.read(async () => {
      const rows = before === null ? await all<AuditLogTable>(this.#d.reader, this.#st.auditFirst, [orgId, limit])
        : await all<AuditLogTable>(this.#d.reader, this.#st.auditBefore, [orgId, limit, before])
      return rows.map(toAuditRow)
    })
  }

  getUser(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<UserRow | null> {
    return this.#d.read(async () => {
      if (!opts.withMembership) {
        const [row] = await all<ResourceRecord>(this.#d.reader, this.#st.user, [orgId, id])
        return row ? toUserRow(row) : null
      }
      const [row] = await all<ResourceRecord & { groups: string }>(this.#d.reader, this.#st.userWithGroups, [orgId, id])
      return row ? toUserRow(row, groupRefs(row.groups)) : null
    })
  }

  listUsers(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<UserRow>> {
    return this.#d.read(async () => {
      const name = this.#pager.uniqueNameEq(query.rs ?? userResource, query.filter)
      if (name === NO_MATCH) return { total: 0, rows: [] }
      if (name !== null) {
        if (!opts.withMembership) {
          const { total, rows } = onePage(await all<ResourceRecord>(this.#d.reader, this.#st.userByName, [orgId, name]), query)
          return { total, rows: rows.map((r) => toUserRow(r)) }
        }
        const { total, rows } = onePage(await all<ResourceRecord & { groups: string }>(this.#d.reader, this.#st.userByNameWithGroups, [orgId, name]), query)
        return { total, rows: rows.map((r) => toUserRow(r, groupRefs(r.groups))) }
      }
      const { total, rows } = await this.#pager.list(orgId, query.rs ?? userResource, 'users', query, this.#d.sql.codePoint(sql.ref('t.user_name_folded')), opts.deadline)
      if (!opts.withMembership || rows.length === 0) return { total, rows: rows.map((r) => toUserRow(r)) }
      const groups = await groupsOf(this.#d.reader, this.#st, this.#d.sql, orgId, rows.map((u) => u.id))
      return { total, rows: rows.map((r) => toUserRow(r, groups.get(r.id) ?? NO_GROUPS)) }
    })
  }

  listGroups(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<GroupRow>> {
    return this.#d.read(async () => {
      const name = this.#pager.uniqueNameEq(query.rs ?? groupResource, query.filter)
      if (name === NO_MATCH) return { total: 0, rows: [] }
      const { total, rows } = name !== null
        ? onePage(await all<ResourceRecord>(this.#d.reader, this.#st.groupByName, [orgId, name]), query)
        : await this.#pager.list(orgId, query.rs ?? groupResource, 'groups', query, this.#d.sql.codePoint(sql.ref('t.display_name_folded')), opts.deadline)
      if (!opts.withMembership) return { total, rows: rows.map((r) => toGroupRow(r)) }
      const out: GroupRow[] = []
      for (const r of rows) out.push(toGroupRow(r, await this.#members(orgId, r.id, opts.deadline)))
      return { total, rows: out }
    })
  }

  getGroup(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<GroupRow | null> {
    return this.#d.read(async () => {
      const [row] = await all<ResourceRecord>(this.#d.reader, this.#st.group, [orgId, id])
      if (!row) return null
      return opts.withMembership ? toGroupRow(row, await this.#members(orgId, id, opts.deadline)) : toGroupRow(row)
    })
  }

  #members(orgId: OrgId, groupId: string, deadline?: Deadline): Promise<MemberRow[]> {
    return this.#d.scanner.all<MemberRow>(this.#st.members.sql, this.#st.members.bind([orgId, groupId]), deadline)
  }

  findUserIdByUserName(orgId: OrgId, userName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.userIdByName, [orgId, fold(userName)]))[0]?.id ?? null)
  }

  findGroupIdByDisplayName(orgId: OrgId, displayName: string): Promise<ResourceId | null> {
    return this.#d.read(async () => (await all<{ id: string }>(this.#d.reader, this.#st.groupIdByName, [orgId, fold(displayName)]))[0]?.id ?? null)
  }

  ping(): Promise<void> {
    return this.#d.read(async () => {
      await all(this.#d.reader, this.#st.ping, [])
    })
  }

  queueDepths(): Promise<QueueDepths> {
    return this.#d.read(() => queueDepths(this.#d.reader))
  }

  appliedMigrations(): Promise<string[]> {
    return this.#d.read(async () => (await this.#d.reader.all<{ name: string }>('select name from kysely_migration order by name', [])).map((r) => r.name))
  }

  async close(): Promise<void> {
    await this.#d.eventStamper?.stop()
    return this.#d.close()
  }
}
