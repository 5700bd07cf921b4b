// What the admin console needs from the store (docs/console.md, migration 0009): accounts, their
// roles per organization, sessions, sign-in failures, one-time links, and the SCIM tokens'
// metadata, rotation and use. None of it is list data: its transactions leave list caches valid.
import type { OrgId } from './store.ts'

export type ConsoleRole = 'admin' | 'viewer'
export type LinkKind = 'setup' | 'invite' | 'reset'

export interface AccountRow {
  readonly id: string
  readonly email: string
  /** Null until the account's invitation or setup link is used. */
  readonly passwordHash: string | null
  readonly operator: boolean
  readonly createdAt: string
}

export interface RoleRow {
  readonly orgId: OrgId
  readonly role: ConsoleRole
}

export interface MemberRow {
  readonly account: AccountRow
  readonly role: ConsoleRole
  readonly since: string
}

export interface SessionRow {
  readonly hash: string
  readonly accountId: string
  readonly csrf: string
  readonly createdAt: string
  /** When the account last proved its password in this session: sign-in, or a confirmation since. */
  readonly authenticatedAt: string
  readonly seenAt: string
  readonly expiresAt: string
}

export interface SignInState {
  readonly failures: number
  readonly firstFailureAt: string
  readonly lockedUntil: string | null
}

export interface LinkRow {
  readonly kind: LinkKind
  readonly accountId: string | null
  readonly createdAt: string
  readonly expiresAt: string
}

export interface TokenMeta {
  readonly id: string
  readonly prefix: string
  /** Null for a token issued before migration 0009. */
  readonly lastFour: string | null
  readonly createdAt: string
  readonly firstUsedAt: string | null
  readonly firstUsedBy: string | null
  readonly lastUsedAt: string | null
  readonly lastUsedBy: string | null
  /** Issued beside a live token; revokes the older ones at its first use. */
  readonly rotating: boolean
}

export interface NewScimToken {
  readonly id: string
  readonly hash: string
  readonly prefix: string
  readonly lastFour: string
  readonly now: string
}

export interface ConsoleAudit {
  readonly id: string
  readonly at: string
  readonly actor: string
  readonly action: string
  readonly details: Record<string, unknown>
}

/** An organization on the operator's page, with its tokens' figures. */
export interface OrgPageRow {
  readonly id: OrgId
  readonly name: string
  /** The page's order and cursor (unique). */
  readonly nameFolded: string
  readonly createdAt: string
  readonly domains: readonly string[]
  readonly liveTokens: number
  readonly firstAt: string | null
  readonly firstBy: string | null
  readonly lastAt: string | null
  readonly lastBy: string | null
}

export interface ConsoleStore {
  countAccounts(): Promise<number>
  accountByEmail(emailFolded: string): Promise<AccountRow | null>
  accountById(id: string): Promise<AccountRow | null>
  /** False when an account with this email exists already. */
  createAccount(a: { id: string; email: string; emailFolded: string; passwordHash: string | null; operator: boolean; now: string }): Promise<boolean>
  setPassword(accountId: string, passwordHash: string): Promise<void>
  setOperator(accountId: string, operator: boolean): Promise<void>
  roles(accountId: string): Promise<readonly RoleRow[]>
  setRole(orgId: OrgId, accountId: string, role: ConsoleRole, now: string, audit: ConsoleAudit | null): Promise<void>
  /** Removes the role and ends every session of the account, in one transaction; false when it had none. */
  removeRole(orgId: OrgId, accountId: string, audit: ConsoleAudit): Promise<boolean>
  /** The organization's console members, by email. */
  members(orgId: OrgId, limit: number): Promise<readonly MemberRow[]>

  createSession(s: SessionRow): Promise<void>
  /** The session and its account, whatever its expiry (the caller checks it). */
  session(hash: string): Promise<{ session: SessionRow; account: AccountRow } | null>
  touchSession(hash: string, now: string): Promise<void>
  /** Records that the session's account proved its password again at `now`. */
  confirmSession(hash: string, now: string): Promise<void>
  deleteSession(hash: string): Promise<void>
  /** Ends every session of the account; returns how many. */
  deleteSessions(accountId: string): Promise<number>
  /** Deletes sessions expired before `now` (at most `limit`). */
  pruneSessions(now: string, limit: number): Promise<number>

  signInState(emailFolded: string): Promise<SignInState | null>
  /**
   * Counts a failure in one transaction: a count older than `windowStart` starts again; at
   * `threshold` failures the email is locked until `lockUntil`. The failure that locks it
   * (`lockedNow`) writes, in the same transaction, a `console.locked_out` audit entry by `system`
   * in every organization where the email's account has a role, with `lockAudit.details` and the
   * account's email, the failures and the lock-out's end (UI-3).
   */
  failSignIn(
    emailFolded: string, now: string, windowStart: string, threshold: number, lockUntil: string,
    lockAudit?: { readonly newId: () => string; readonly details: Record<string, unknown> },
  ): Promise<SignInState & { readonly lockedNow: boolean; readonly orgsTold: number }>
  clearSignIn(emailFolded: string): Promise<void>

  /** Stores a link; earlier unused links of the same kind for the account (or setup links) stop working. */
  createLink(l: { hash: string; kind: LinkKind; accountId: string | null; now: string; expiresAt: string }): Promise<void>
  /** Whether a link of this kind was made for the account at or after `since` (throttles emails). */
  linkSince(accountId: string, kind: LinkKind, since: string): Promise<boolean>
  /** Uses the link once: null when unknown, used, or expired at `now`. */
  useLink(hash: string, now: string): Promise<LinkRow | null>

  /** The organization's live SCIM tokens, oldest first. */
  tokens(orgId: OrgId): Promise<readonly TokenMeta[]>
  /**
   * Issues a token beside the live ones (rotation): a still-unused rotating token is replaced.
   * With `revokeOthers` every earlier live token is revoked instead (refresh).
   */
  addToken(orgId: OrgId, t: NewScimToken, opts: { rotating: boolean; revokeOthers: boolean }, audit: ConsoleAudit): Promise<void>
  /**
   * Writes an audit entry, or gives the entry of this id its new details (a refused attempt's
   * count as it grows within its minute: http/api/refusal-audit.ts). False when the organization
   * is gone (a deletion committed first): nothing is written.
   */
  putAudit(orgId: OrgId, audit: ConsoleAudit): Promise<boolean>
  /** Revokes one live token; false when there is none with this id. */
  revokeToken(orgId: OrgId, id: string, now: string, audit: ConsoleAudit): Promise<boolean>
  /**
   * Records a token's use by an identity provider; a rotating token's first use revokes the
   * older live tokens of its organization. Returns the ids it revoked.
   */
  tokenUsed(hash: string, by: string, now: string): Promise<readonly string[]>
  /** When and by whom the organization's first and last SCIM requests were authenticated (every token, revoked ones too). */
  /** Organizations in folded-name order after `afterFolded` (null: from the first), at most `limit`. */
  orgPage(afterFolded: string | null, limit: number): Promise<readonly OrgPageRow[]>
  scimStatus(orgId: OrgId): Promise<{ firstAt: string | null; firstBy: string | null; lastAt: string | null; lastBy: string | null }>
}
