// The Store interface: speaks in SCIM operations, not tables. Every method takes the
// organization first; an org-less query cannot be written through it (RELIABILITY.md TEN-1,
// incident 6). Implementations: store/kysely (SQLite and PostgreSQL dialects).
import type { Filter } from '../scim/filter/ast.ts'
import type { MemberDelta } from '../scim/patch/apply.ts'

export type OrgId = string & { readonly __brand: 'OrgId' }
export type ResourceId = string

export interface OrgRow {
  readonly id: OrgId
  readonly name: string
  readonly createdAt: string
  readonly domains: readonly string[]
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
  readonly passwordHash: string | null
  readonly now: string
}

export interface NewGroup {
  readonly id: ResourceId
  readonly body: Record<string, unknown>
  readonly now: string
}

export interface ListQuery {
  readonly filter: Filter | null
  /** Canonical attribute path to sort by, e.g. "userName", "name.familyName", "meta.created". */
  readonly sortBy: string | null
  readonly sortOrder: 'ascending' | 'descending'
  /** 1-based (RFC 7644 §3.4.2.4). */
  readonly startIndex: number
  readonly count: number
}

export interface ReadOptions {
  /** Read the membership rows (a user's groups, a group's members). */
  readonly withMembership: boolean
}

export interface ListResult<T> {
  readonly total: number
  readonly rows: readonly T[]
}

/** Membership changes, as scim/patch computes them: only the named rows are touched (DESIGN.md, "hard parts"). */
export type { MemberDelta }

/** The work a use case does inside one transaction. */
export interface StoreTx {
  insertUser(orgId: OrgId, user: NewUser): Promise<void>
  getUserForUpdate(orgId: OrgId, id: ResourceId): Promise<UserRow | null>
  /** Writes a new body at version+1; the caller holds the row (read by getUserForUpdate) and passes its body as `previous`. */
  updateUser(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, previous: Record<string, unknown>, passwordHash: string | null | undefined, version: number, now: string): Promise<void>
  deleteUser(orgId: OrgId, id: ResourceId): Promise<boolean>

  insertGroup(orgId: OrgId, group: NewGroup): Promise<void>
  getGroupForUpdate(orgId: OrgId, id: ResourceId): Promise<GroupRow | null>
  updateGroup(orgId: OrgId, id: ResourceId, body: Record<string, unknown>, version: number, now: string): Promise<void>
  deleteGroup(orgId: OrgId, id: ResourceId): Promise<boolean>
  /** Which of `ids` are users or groups of this organization. */
  resolveMembers(orgId: OrgId, ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>>
  /** Applies a membership delta; returns how many rows were added and removed. */
  applyMemberDelta(orgId: OrgId, groupId: ResourceId, delta: MemberDelta): Promise<{ added: number; removed: number }>
  /** Bumps a group's version and lastModified after a membership-only change. */
  touchGroup(orgId: OrgId, id: ResourceId, version: number, now: string): Promise<void>

  createOrg(org: { id: OrgId; name: string; now: string; domains: readonly string[] }): Promise<void>
  /** Revokes every live token of the org and stores the new one, in this transaction. */
  replaceToken(orgId: OrgId, token: { id: string; hash: string; prefix: string; now: string }): Promise<void>
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Runs `fn` in one transaction; resolves only after the commit is durable. */
  write<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>

  orgByTokenHash(hash: string): Promise<OrgId | null>
  getOrg(idOrName: string): Promise<OrgRow | null>
  listOrgs(): Promise<readonly OrgRow[]>

  getUser(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<UserRow | null>
  listUsers(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<UserRow>>
  getGroup(orgId: OrgId, id: ResourceId, opts: ReadOptions): Promise<GroupRow | null>
  listGroups(orgId: OrgId, query: ListQuery, opts: ReadOptions): Promise<ListResult<GroupRow>>
  /** Finds the resource holding a unique value, for a 409's detail and an IdP's retried create. */
  findUserIdByUserName(orgId: OrgId, userName: string): Promise<ResourceId | null>
  findGroupIdByDisplayName(orgId: OrgId, displayName: string): Promise<ResourceId | null>

  /** Fails (StoreUnavailable) when the database cannot answer. */
  ping(): Promise<void>
  close(): Promise<void>
}

/** A unique index refused a row: the caller turns it into a 409 uniqueness. */
export class UniqueViolation extends Error {
  constructor(readonly what: 'userName' | 'displayName' | 'org' | 'other', options?: { cause?: unknown }) {
    super(`unique violation on ${what}`, options)
    this.name = 'UniqueViolation'
  }
}

/** The database cannot serve now (locked, unreachable, overloaded): the client gets 503 + Retry-After. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailable'
  }
}
