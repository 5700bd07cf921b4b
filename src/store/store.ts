// The Store interface: speaks in SCIM operations, not tables. Every method takes the
// organization first; an org-less query cannot be written through it (docs/architecture.md TEN-1;
// vouch-sh/vouch #317). Implementations: store/kysely (SQLite and PostgreSQL dialects).
import type { Filter } from '../scim/filter/ast.ts'
import type { MemberDelta } from '../scim/patch/members.ts'
import type { OrgSettings } from '../orgs/settings.ts'
import type { SchemaStore, SchemaTx } from './schema-store.ts'
import type { UniqueTx } from './unique-store.ts'
import type { ResourceSchema } from '../scim/schema/registry.ts'
import type { AuditRow, DomainRecord, OrgPolicyTx } from './org-store.ts'
import type { WebhookStore } from './webhook-store.ts'
import type { InvitationStore, InvitationTx } from './invitation-store.ts'
import type { RateLimitBuckets } from './rate-limit-store.ts'
import type { Deadline } from './deadline.ts'
import type { ConsoleStore } from './console-store.ts'
import type { OrgRemovalStore, ServerInfoStore } from './operations-store.ts'

export type OrgId = string & { readonly __brand: 'OrgId' }
export type ResourceId = string

export interface OrgRow {
  readonly id: OrgId
  readonly name: string
  readonly createdAt: string
  /** Every domain it lists, in order. */
  readonly domains: readonly string[]
  readonly domainRecords: readonly DomainRecord[]
  readonly settings: OrgSettings
  /** Moves on every organization.updated event (OrgPolicy.settingsVersion). */
  readonly settingsVersion: number
}

export interface GroupRef {
  readonly value: string
  readonly display: string
}

export interface MemberRow {
  readonly value: string
  readonly type: 'User' | 'Group'
  readonly display: string | null
}

/** A stored User or Group: the body in canonical SCIM form without id, meta, groups, members. */
export interface ResourceRow {
  readonly id: ResourceId
  readonly version: number
  readonly created: string
  readonly lastModified: string
  readonly body: Record<string, unknown>
  /** The body as the stored JSON text, when the database returned it as text. */
  readonly json?: string
  /** Who manages it and what the application alone sees: read by the directory API and by writes. */
  readonly directory?: DirectoryInfo
}

/** What the directory API shows beside the SCIM body (docs/api.md). */
export interface DirectoryInfo {
  /** `scim` for what an identity provider created, `app` for what the application created. */
  readonly managedBy: string
  /** The identity provider that created it (detected from the request), when known. */
  readonly identityProvider: string | null
  /** Attributes an identity provider sent that no schema declares (users only). */
  readonly customAttributes: Record<string, unknown> | null
  /** Groups only: the number of membership rows. */
  readonly memberCount?: number
  /** Users only: invited and not yet accepted. */
  readonly pending?: boolean
  /** Users only: the application's own attributes (SCIM never reads or writes them). */
  readonly metadata?: Record<string, unknown> | null
}

export interface UserRow extends ResourceRow {
  /** Computed from membership rows; absent when the caller did not ask for it. */
  readonly groups?: readonly GroupRef[]
}

export interface GroupRow extends ResourceRow {
  readonly members?: readonly MemberRow[]
}

export interface NewUser {
  readonly id: ResourceId
  readonly body: Record<string, unknown>
  /** `JSON.stringify(body)`, when the caller has it (it answers with the same text): stored as is. */
  readonly json?: string
  readonly passwordHash: string | null
  readonly now: string
  readonly identityProvider: string | null
  readonly customAttributes: Record<string, unknown> | null
  /** `scim` for an identity provider's user, `app` for one the application created. */
  readonly managedBy: 'scim' | 'app'
  /** Invited and not yet accepted (the state `pending`). */
  readonly pending: boolean
  /** The application's own attributes. */
  readonly metadata: Record<string, unknown> | null
}

export interface NewGroup {
  readonly id: ResourceId
  readonly body: Record<string, unknown>
  readonly now: string
  readonly identityProvider: string | null
}

/**
 * One outbox row (docs/events.md, events/rows.ts): one event, whose `payload` is its JSON text
 * exactly as delivered; or, with `members`, one event per member sharing `payload` as the open
 * text of their `data`.
 */
export interface NewEvent {
  readonly id: string
  readonly type: string
  readonly resourceType: string
  readonly resourceId: string
  /** Events of one lane reach each webhook endpoint in order. */
  readonly lane: string
  readonly version: number
  readonly at: string
  readonly payload: string
  readonly members: readonly MemberKey[] | null
}

/** A stored row of events as the feed reads it: positions `position` … `position + count - 1`. */
export interface StoredEvents {
  readonly position: number
  readonly count: number
  readonly id: string
  readonly type: string
  readonly resourceId: string
  readonly lane: string
  readonly at: string
  readonly payload: string
  /** A membership row's members (member-list.ts); null for a single event. */
  readonly members: string | null
}

export interface MemberKey { readonly id: string; readonly type: 'User' | 'Group' }

/** Membership rows a delta really inserted and deleted (net of a replace's delete-then-insert). */
export interface MemberDeltaResult {
  readonly added: readonly MemberKey[]
  readonly removed: readonly MemberKey[]
}

/** A keyset page of a directory list: rows after `after` in id order (stable under writes). */
/** A user's state as the directory API names it (directory/shape.ts), without `deleted`. */
export type UserState = 'pending' | 'active' | 'suspended'

export interface DirectoryPageQuery {
  readonly filter: Filter | null
  readonly after: string | null
  readonly limit: number
  /** Only rows whose updated_at is at or after this instant (ISO 8601). */
  readonly updatedSince: string | null
  /** Users only: those in this state (suspended: not active; pending: active, invitation not accepted). */
  readonly state?: UserState | null
  /** The resource type the filter names attributes of; the standard one when absent. */
  readonly rs?: ResourceSchema
}

export interface ListQuery {
  readonly filter: Filter | null
  /** Canonical attribute path to sort by, e.g. "userName", "name.familyName", "meta.created". */
  readonly sortBy: string | null
  readonly sortOrder: 'ascending' | 'descending'
  /** 1-based (RFC 7644 §3.4.2.4). */
  readonly startIndex: number
  readonly count: number
  /** The resource type the filter and sortBy name attributes of; the standard one when absent. */
  readonly rs?: ResourceSchema
}

export interface ReadOptions {
  /** Read the membership rows (a user's groups, a group's members). */
  readonly withMembership: boolean
  /** The request's deadline: a read still running then is stopped and is a 503 (store/deadline.ts). */
  readonly deadline?: Deadline | undefined
}

export interface ListResult<T> {
  readonly total: number
  readonly rows: readonly T[]
}

/** Membership changes, as scim/patch computes them: only the named rows are touched (docs/architecture.md, "hard parts"). */
export type { MemberDelta }

/** One provisioning-log row (docs/provisioning-log.md). */
export interface LogRow {
  /** UUIDv7 taken at the request's arrival: newest-first order is `id` descending. */
  readonly id: string
  /** The request's arrival (ISO 8601), the time inside `id`. */
  readonly at: string
  readonly requestId: string
  readonly identityProvider: string
  readonly method: string
  /** Path and query string, secrets in the query redacted. */
  readonly path: string
  readonly resourceType: 'User' | 'Group' | null
  readonly resourceId: string | null
  readonly status: number
  readonly scimType: string | null
  readonly detail: string | null
  readonly durationUs: number
  /** The redacted change record as JSON text; null when nothing changed. */
  readonly changes: string | null
  /** The lenient readings applied to the request, as a JSON array; null when none. */
  readonly notes: string | null
}

/** A page of one organization's log, newest first; every filter runs in SQL on an index. */
export interface LogQuery {
  /** Only rows older than this id (the cursor). */
  readonly before: string | null
  /** Only rows with an id at or above this bound (the first id of the `since` millisecond). */
  readonly sinceId: string | null
  readonly status: number | null
  /** 2 for 2xx … 5; ignored when `status` is set. */
  readonly statusClass: number | null
  readonly resourceId: string | null
  /** Only rows of this identity provider (entra, okta, …, unknown). */
  readonly identityProvider?: string | null
  readonly limit: number
}

export interface ApiKeyRow {
  readonly id: string
  readonly name: string
  readonly prefix: string
  readonly createdAt: string
  readonly revokedAt: string | null
  /** null: an operator key (every organization). */
  readonly orgId: OrgId | null
  readonly scopes: readonly string[]
  readonly expiresAt: string | null
  readonly lastUsedAt: string | null
}

export interface NewApiKey {
  readonly id: string
  readonly name: string
  readonly hash: string
  readonly prefix: string
  readonly now: string
  readonly orgId: OrgId | null
  readonly scopes: readonly string[]
  readonly expiresAt: string | null
}

/** The work a use case does inside one transaction. */
export interface StoreTx {
  /** The organization's settings, domains and audit entries (org-store.ts). */
  readonly orgs: OrgPolicyTx
  /** Invitations: accepting, resending, revoking, and the outcome of a send (invitation-store.ts). */
  readonly invitations: InvitationTx
  /** The organization's declared extension schemas (schema-store.ts). */
  readonly schemas: SchemaTx
  /** The unique index of declared attributes (unique-store.ts). */
  readonly unique: UniqueTx
  insertUser(orgId: OrgId, user: NewUser): Promise<void>
  getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null>
  /** The user's groups as this transaction sees them (empty when there is no such user). */
  userGroups(orgId: OrgId, id: ResourceId): Promise<readonly GroupRef[]>
  /** An application-created user becomes SCIM-managed (the organization allows adoption). */
  adoptUser(orgId: OrgId, id: ResourceId, identityProvider: string | null): Promise<void>
  /** Moves the user into or out of `pending`, at a new version. */
  setPending(orgId: OrgId, id: ResourceId, pending: boolean, now: string): Promise<void>
  /** Replaces the application's metadata; at a new version unless the change's other write made one. */
  setMetadata(orgId: OrgId, id: ResourceId, metadata: Record<string, unknown> | null, now: string, newVersion: boolean): Promise<void>
  /** Keeps a deleted user's directory shape until `purgeAt` (deprovision: suspend). */
  keepDeletedUser(orgId: OrgId, id: ResourceId, kept: { deletedAt: string; purgeAt: string; data: object }): Promise<void>
  /** Removes a kept user; false when the sweep had done it already. */
  purgeDeletedUser(orgId: OrgId, id: ResourceId): Promise<boolean>
  /**
   * Writes a new body at version+1; the caller holds the row (read by getUserForUpdate) and passes
   * its body as `previous`. `customAttributes` undefined keeps the stored ones.
   */
  updateUser(
    orgId: OrgId, id: ResourceId, body: Record<string, unknown>, previous: Record<string, unknown>, passwordHash: string | null | undefined,
    version: number, now: string, customAttributes?: Record<string, unknown> | null,
  ): Promise<void>
  /**
   * Deletes a user with its emails, memberships and unique values; each group it was in loses one from its
   * count and moves to a new version. Returns those groups, or null when there is no such user.
   */
  deleteUser(orgId: OrgId, id: ResourceId, now: string): Promise<readonly GroupRow[] | null>

  insertGroup(orgId: OrgId, group: NewGroup): Promise<void>
  getGroupForUpdate(orgId: OrgId, id: ResourceId): Promise<GroupRow | null>
  /** The group's members as this transaction sees them, each with its display name. */
  groupMembers(orgId: OrgId, id: ResourceId): Promise<MemberRow[]>
  updateGroup(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, version: number, now: string): Promise<void>
  /** Deletes a group with its own membership rows, its unique values and its memberships in other groups (returned as deleteUser's). */
  deleteGroup(orgId: OrgId, id: ResourceId, now: string): Promise<readonly GroupRow[] | null>
  /** Which of `ids` are users or groups of this organization. */
  resolveMembers(orgId: OrgId, ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>>
  /**
   * Adds `ids` (distinct) as User members when every one is a user of this organization and none
   * is a member yet, keeping the member count; else writes nothing and returns null, and the
   * caller resolves them (resolveMembers) and applies the delta. Null on stores without it.
   */
  addNewUserMembers(orgId: OrgId, groupId: ResourceId, ids: readonly string[]): Promise<MemberDeltaResult | null>
  /** Applies a membership delta and keeps the group's member count; returns the rows really added and removed. */
  applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<MemberDeltaResult>
  /** Writes events in this transaction (the outbox): they commit with the change or not at all. */
  insertEvents(orgId: OrgId, events: readonly NewEvent[]): Promise<void>
  /** Bumps a group's version and lastModified after a membership-only change. */
  touchGroup(orgId: OrgId, id: ResourceId, version: number, now: string): Promise<void>

  createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void>
  /** Gives the organization another name (unique under folding: a UniqueViolation otherwise); false when it does not exist. */
  renameOrg(orgId: OrgId, name: string): Promise<boolean>
  /** Revokes every live token of the org and stores the new one, in this transaction. */
  replaceToken(orgId: OrgId, token: { id: string; hash: string; prefix: string; lastFour?: string; now: string }): Promise<void>

  /** The log row of the change this transaction makes (docs/architecture.md: it commits with the change). */
  insertLog(orgId: OrgId, row: LogRow): Promise<void>

  insertApiKey(key: NewApiKey): Promise<void>
  /** Revokes the live keys with this id or name; returns how many. */
  revokeApiKey(idOrName: string, now: string): Promise<number>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Webhook endpoints, deliveries and attempts (webhook-store.ts). */
  readonly webhooks: WebhookStore
  /** The mailer's queue of invitations, fed from the event outbox (invitation-store.ts). */
  readonly invitations: InvitationStore
  /** Organizations' declared extension schemas (schema-store.ts). */
  readonly schemas: SchemaStore
  /** Rate-limit counters shared by every server (PostgreSQL); null where one process is the whole truth. */
  readonly rateLimitBuckets: RateLimitBuckets | null
  /** The admin console's accounts, sessions, links and SCIM token metadata (console-store.ts). */
  readonly console: ConsoleStore
  /** Deleting an organization whole (operations-store.ts). */
  readonly orgRemoval: OrgRemovalStore
  /** What a running server recorded about itself, for the CLI (operations-store.ts). */
  readonly serverInfo: ServerInfoStore
  /** Runs `fn` in one transaction; resolves only after the commit is durable. */
  write<T>(fn: (tx: StoreTx) => Promise<T>, deadline?: Deadline): Promise<T>
  /**
   * Rows of requests that wrote nothing, several organizations at once, in one transaction of
   * their own (the batched appender). It changes no user, group or membership, so list totals
   * and page continuations learned before it stay valid.
   */
  appendLog(rows: readonly { readonly orgId: OrgId; readonly row: LogRow }[]): Promise<void>
  /**
   * Deletes at most `limit` of the organization's oldest log rows with an id below `beforeId`, in
   * a transaction of its own that, like appendLog's, changes no user, group or membership;
   * returns how many.
   */
  pruneLog(orgId: OrgId, beforeId: string, limit: number): Promise<number>

  orgByTokenHash(hash: string): Promise<OrgId | null>
  /** A live token's organization with the version of its declared schemas (schema-store.ts), in one statement. */
  tokenOrg(hash: string): Promise<{ readonly orgId: OrgId; readonly schemaVersion: number } | null>
  getOrg(idOrName: string): Promise<OrgRow | null>
  /** A user kept after its DELETE (deprovision: suspend), as the directory API shows it. */
  deletedUser(orgId: OrgId, id: ResourceId): Promise<Record<string, unknown> | null>
  /**
   * A page of the users kept after their DELETE, in id order after `after` (the start when null),
   * deleted at or after `deletedSince` when given, each as the directory API shows it.
   */
  deletedUsers(orgId: OrgId, q: { after: string | null; limit: number; deletedSince: string | null }): Promise<readonly Record<string, unknown>[]>
  /** Kept users whose days are over. */
  duePurges(now: string, limit: number): Promise<readonly { orgId: OrgId; id: ResourceId; data: Record<string, unknown> }[]>
  /** An organization's audit entries, newest first, before the entry `before` when given. */
  listAudit(orgId: OrgId, limit: number, before: string | null): Promise<readonly AuditRow[]>
  listOrgs(): Promise<readonly OrgRow[]>
  orgIds(): Promise<readonly OrgId[]>
  /** The organization of a revoked SCIM token, so that its 401 can be logged there. */
  orgOfRevokedToken(hash: string): Promise<OrgId | null>

  listLog(orgId: OrgId, query: LogQuery): Promise<readonly LogRow[]>
  /** How many rows `query` selects, counted up to `query.limit` (an index walk bounded by it). */
  countLog(orgId: OrgId, query: LogQuery): Promise<number>
  /** The API key with this hash, unless revoked (expiry is the caller's to check). */
  apiKeyByHash(hash: string): Promise<ApiKeyRow | null>
  /** Records a key's use (at most once a minute per key is enough for "last used"). */
  touchApiKey(id: string, now: string): Promise<void>
  listApiKeys(): Promise<readonly ApiKeyRow[]>

  getUser(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<UserRow | null>
  listUsers(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<UserRow>>
  getGroup(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<GroupRow | null>
  listGroups(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<GroupRow>>
  /** Finds the resource holding a unique value, for a 409's detail and an IdP's retried create. */
  findUserIdByUserName(orgId: OrgId, userName: string): Promise<ResourceId | null>
  findGroupIdByDisplayName(orgId: OrgId, displayName: string): Promise<ResourceId | null>

  /** The directory API's reads: rows with their DirectoryInfo, keyset-paged in id order. */
  directoryUsers(orgId: OrgId, query: DirectoryPageQuery): Promise<readonly UserRow[]>
  directoryGroups(orgId: OrgId, query: DirectoryPageQuery): Promise<readonly GroupRow[]>
  directoryUser(orgId: OrgId, by: 'id' | 'externalId' | 'userName', value: string): Promise<UserRow | null>
  directoryGroup(orgId: OrgId, id: ResourceId): Promise<GroupRow | null>
  /** A group's members after the member id `after`, in id order. */
  groupMembersPage(orgId: OrgId, groupId: ResourceId, after: string | null, limit: number): Promise<readonly MemberRow[]>
  /** A user's groups after the group id `after`, in id order. */
  userGroupsPage(orgId: OrgId, userId: ResourceId, after: string | null, limit: number): Promise<readonly GroupRow[]>

  /**
   * The organization's event rows holding a position after `after` (at most `limit` rows), in
   * position order; `types` (when given) filters.
   */
  readEvents(orgId: OrgId, after: number, limit: number, types: readonly string[] | null): Promise<readonly StoredEvents[]>
  /** The organization's oldest kept event position and newest position (0 when none). */
  eventBounds(orgId: OrgId): Promise<{ oldest: number | null; newest: number }>
  /** Deletes up to `limit` events older than `before` (ISO 8601); returns how many. */
  pruneEvents(before: string, limit: number): Promise<number>
  /**
   * Calls `listener` after events may have become readable: a local commit that wrote some (SQLite), or
   * a stamping pass that gave some a position (PostgreSQL). Returns the unsubscribe function.
   */
  onEvents(listener: () => void): () => void

  /** Fails (StoreUnavailable) when the database cannot answer. */
  ping(): Promise<void>
  /** The background work waiting in the database, for /metrics (kysely/queue-depths.ts). */
  queueDepths(): Promise<QueueDepths>
  /** The names of the migrations applied to this database, in order (readiness, `roster migrate --dry-run`). */
  appliedMigrations(): Promise<string[]>
  close(): Promise<void>
}

export interface QueueDepths {
  /** Webhook deliveries not yet delivered (due, leased or waiting for a retry). */
  readonly webhookDeliveries: number
  /** Invitation emails queued and not yet sent. */
  readonly invitationEmails: number
  /** Events committed but without a feed position yet (PostgreSQL's stamping; always 0 on SQLite). */
  readonly unstampedEvents: number
  /** Events past the furthest-behind enabled webhook endpoint's cursor (not yet turned into deliveries). */
  readonly webhookEventLag: number
  /** Events past the invitation mailer's cursor. */
  readonly mailerEventLag: number
}

/** A unique index refused a row: the caller turns it into a 409 uniqueness. */
export class UniqueViolation extends Error {
  constructor(readonly what: 'userName' | 'displayName' | 'org' | 'other', options?: { cause?: unknown }) {
    super(`unique violation on ${what}`, options)
    this.name = 'UniqueViolation'
  }
}

/**
 * The organization a write is for was deleted after its request's credentials were checked: its
 * transaction writes nothing (rolled back), and SCIM answers 401 as it does the next request with
 * the deleted organization's token (docs/operations.md, "Deleting an organization").
 */
export class OrgGone extends Error {
  constructor(readonly orgId: OrgId) {
    super(`organization ${orgId} does not exist`)
    this.name = 'OrgGone'
  }
}

/** The database cannot serve now (locked, unreachable, overloaded): the client gets 503 + Retry-After. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailable'
  }
}
