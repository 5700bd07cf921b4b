// Console accounts, sessions and one-time links (docs/console.md). Sessions live in the database
// by the SHA-256 hash of the cookie's secret, so that signing out (one browser, or every browser)
// and removing an admin end them at once on every server. A session ends after an idle period
// and, whatever its use, after an absolute lifetime (OWASP Session Management Cheat Sheet,
// "Session Expiration"; ASVS 3.3.1, 3.3.2). Sign-in failures are counted per email, whether an
// account exists or not, and lock the email out for a while after a few (ASVS 2.2.1); a wrong
// email costs the same scrypt as a wrong password, so the answer's time tells nothing.
import { createHash, randomBytes } from 'node:crypto'
import type { Deps } from '../provisioning/deps.ts'
import type { AccountRow, ConsoleRole, LinkKind, RoleRow, SessionRow } from '../store/console-store.ts'
import type { OrgId } from '../store/store.ts'
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords.ts'

export interface ConsolePolicy {
  /** A session unused this long ends. */
  readonly idleMs: number
  /** A session ends this long after sign-in, used or not. */
  readonly absoluteMs: number
  /** Failed sign-ins of one email within `failureWindowMs` that lock it out. */
  readonly maxFailures: number
  readonly failureWindowMs: number
  readonly lockoutMs: number
  /**
   * How recently the session's account must have proved its password for a sensitive change
   * (minting a SCIM token): older, the API answers 403 reauthentication_required.
   */
  readonly reauthMs: number
  /** How long a setup, invitation or reset link works. */
  readonly linkMs: { readonly setup: number; readonly invite: number; readonly reset: number }
}

export const DEFAULT_POLICY: ConsolePolicy = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 3_600_000,
  maxFailures: 5,
  failureWindowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  // Ten minutes: long enough for one setup sitting, short enough that a session left open
  // (or stolen) cannot mint a token without the password (OWASP ASVS 4.0.3 3.7.1).
  reauthMs: 10 * 60_000,
  linkMs: { setup: 24 * 3_600_000, invite: 7 * 24 * 3_600_000, reset: 3_600_000 },
}

export type ConsoleErrorCode =
  | 'bad_credentials' | 'locked_out' | 'invalid_parameter' | 'link_invalid' | 'account_exists' | 'not_found' | 'conflict'

/** What a refused password check counted, for the server's log (http/api/console-routes.ts). */
export interface SignInRefusal {
  /** The email's failures within its window, this one included; null when it was refused as locked out, uncounted. */
  readonly failures: number | null
  /** This failure locked the email out. */
  readonly lockedNow: boolean
  /** Organizations whose audit log got the lock-out (its account's). */
  readonly orgsTold: number
}

export class ConsoleError extends Error {
  constructor(readonly code: ConsoleErrorCode, message: string, readonly retryAfterSeconds?: number, readonly signIn?: SignInRefusal) {
    super(message)
    this.name = 'ConsoleError'
  }
}

/** Where a password check came from: the client's address and which check, for the lock-out's audit entries. */
export interface CheckContext {
  readonly address: string
  readonly operation: 'sign_in' | 'confirm'
}

const EMAIL = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/

/** An email as typed, checked; and its folded form, the account's key. */
export function checkEmail(raw: unknown): { email: string; folded: string } {
  const email = typeof raw === 'string' ? raw.trim() : ''
  if (email.length > 254 || !EMAIL.test(email)) throw new ConsoleError('invalid_parameter', 'email: must be an email address, e.g. ada@example.com')
  return { email, folded: foldEmail(email) }
}

/** An email as sign-in throttling keys it: compatibility-normalized, lower case. */
function foldEmail(email: string): string {
  return email.normalize('NFKC').toLowerCase()
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

const SESSION_PREFIX = 'roster_session_'
const LINK_PREFIX = 'roster_link_'

function secret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url')
}

function plus(now: Date, ms: number): string {
  return new Date(now.getTime() + ms).toISOString()
}

export interface SignedIn {
  /** The cookie's value: shown to the browser only. */
  readonly token: string
  readonly session: SessionRow
  readonly account: AccountRow
}

/**
 * Checks an email's password, counting a failure toward the email's lock-out (and clearing the
 * count on success); throws bad_credentials or locked_out. Sign-in and a session's confirmation
 * share it, so guesses through either count toward the same lock-out.
 */
async function checkPassword(deps: Deps, policy: ConsolePolicy, folded: string, password: unknown, context: CheckContext): Promise<AccountRow> {
  if (typeof password !== 'string' || password.length > 1024) throw new ConsoleError('invalid_parameter', 'password: must be text')
  const now = deps.now()
  const state = await deps.store.console.signInState(folded)
  const lockedFor = (until: string | null) => (until !== null && until > now.toISOString() ? Math.ceil((Date.parse(until) - now.getTime()) / 1000) : 0)
  const locked = lockedFor(state?.lockedUntil ?? null)
  if (locked > 0) {
    throw new ConsoleError('locked_out', `Too many failed sign-ins for this email; try again in ${Math.ceil(locked / 60)} minutes, or reset the password`, locked,
      { failures: null, lockedNow: false, orgsTold: 0 })
  }
  const account = await deps.store.console.accountByEmail(folded)
  const ok = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH)
  if (!account || account.passwordHash === null || !ok) {
    // The failure that locks the email writes the lock-out to its account's organizations' audit
    // logs in its transaction (UI-3; OWASP ASVS 4.0.3 7.1.3: security events logged). At most one
    // entry per organization per lock-out: further attempts are refused as locked, uncounted.
    const after = await deps.store.console.failSignIn(folded, now.toISOString(), plus(now, -policy.failureWindowMs), policy.maxFailures, plus(now, policy.lockoutMs), {
      newId: deps.newId, details: { address: context.address, operation: context.operation },
    })
    const refusal = { failures: after.failures, lockedNow: after.lockedNow, orgsTold: after.orgsTold }
    const nowLocked = lockedFor(after.lockedUntil)
    if (nowLocked > 0) throw new ConsoleError('locked_out', `Too many failed sign-ins for this email; try again in ${Math.ceil(nowLocked / 60)} minutes, or reset the password`, nowLocked, refusal)
    throw new ConsoleError('bad_credentials', 'The email or the password is wrong', undefined, refusal)
  }
  if (state) await deps.store.console.clearSignIn(folded)
  return account
}

/** Checks the password and opens a session; throws bad_credentials or locked_out. */
export async function signIn(deps: Deps, policy: ConsolePolicy, rawEmail: unknown, password: unknown, address = 'unknown'): Promise<SignedIn> {
  const { folded } = checkEmail(rawEmail)
  return openSession(deps, policy, await checkPassword(deps, policy, folded, password, { address, operation: 'sign_in' }))
}

/**
 * The session's account proves its password again (before minting a SCIM token): the session
 * records when. A wrong password counts toward the email's lock-out as a failed sign-in does.
 */
export async function confirmPassword(deps: Deps, policy: ConsolePolicy, session: ActiveSession, password: unknown, address = 'unknown'): Promise<string> {
  try {
    await checkPassword(deps, policy, foldEmail(session.account.email), password, { address, operation: 'confirm' })
  } catch (e) {
    if (e instanceof ConsoleError && e.code === 'bad_credentials') throw new ConsoleError('bad_credentials', 'The password is wrong', undefined, e.signIn)
    throw e
  }
  const now = deps.now().toISOString()
  await deps.store.console.confirmSession(session.session.hash, now)
  return now
}

/** Whether the session's account proved its password within the policy's re-authentication window. */
export function recentlyAuthenticated(deps: Deps, policy: ConsolePolicy, session: ActiveSession): boolean {
  return deps.now().getTime() - Date.parse(session.session.authenticatedAt) < policy.reauthMs
}

async function openSession(deps: Deps, policy: ConsolePolicy, account: AccountRow): Promise<SignedIn> {
  const now = deps.now()
  const token = secret(SESSION_PREFIX)
  const session: SessionRow = {
    hash: secretHash(token), accountId: account.id, csrf: randomBytes(32).toString('base64url'),
    createdAt: now.toISOString(), authenticatedAt: now.toISOString(), seenAt: now.toISOString(), expiresAt: plus(now, policy.absoluteMs),
  }
  await deps.store.console.createSession(session)
  // Expired sessions of anyone are cleared a few at a time, as new ones open.
  await deps.store.console.pruneSessions(now.toISOString(), 100)
  return { token, session, account }
}

export interface ActiveSession {
  readonly session: SessionRow
  readonly account: AccountRow
  readonly roles: ReadonlyMap<OrgId, ConsoleRole>
}

/** How often a session's "last seen" is written: often enough for the idle expiry. */
const TOUCH_EVERY_MS = 60_000

/** The session a cookie names, if it is live; an expired one is deleted. Roles are read at each request. */
export async function resolveSession(deps: Deps, policy: ConsolePolicy, token: string): Promise<ActiveSession | null> {
  if (!token.startsWith(SESSION_PREFIX) || token.length > 100) return null
  const found = await deps.store.console.session(secretHash(token))
  if (!found) return null
  const now = deps.now()
  const { session } = found
  const idleEnd = Date.parse(session.seenAt) + policy.idleMs
  if (session.expiresAt <= now.toISOString() || idleEnd <= now.getTime()) {
    await deps.store.console.deleteSession(session.hash)
    return null
  }
  if (now.getTime() - Date.parse(session.seenAt) >= TOUCH_EVERY_MS) await deps.store.console.touchSession(session.hash, now.toISOString())
  const roles = await deps.store.console.roles(found.account.id)
  return { session, account: found.account, roles: new Map(roles.map((r: RoleRow) => [r.orgId, r.role])) }
}

export function signOut(deps: Deps, session: SessionRow): Promise<void> {
  return deps.store.console.deleteSession(session.hash)
}

export function signOutEverywhere(deps: Deps, accountId: string): Promise<number> {
  return deps.store.console.deleteSessions(accountId)
}

/** A one-time link's token for the account (null: the operator's setup, before any account). */
export async function createLink(deps: Deps, policy: ConsolePolicy, kind: LinkKind, accountId: string | null): Promise<{ token: string; expiresAt: Date }> {
  const now = deps.now()
  const token = secret(LINK_PREFIX)
  const expiresAt = new Date(now.getTime() + policy.linkMs[kind])
  await deps.store.console.createLink({ hash: secretHash(token), kind, accountId, now: now.toISOString(), expiresAt: expiresAt.toISOString() })
  return { token, expiresAt }
}

/**
 * Uses a link: sets the password (and, for the setup link, creates the operator account with
 * `email`). Every session of the account ends (a reset is often asked because a password leaked).
 */
export async function redeemLink(deps: Deps, token: unknown, password: unknown, rawEmail: unknown): Promise<AccountRow> {
  if (typeof token !== 'string' || !token.startsWith(LINK_PREFIX) || token.length > 100) throw new ConsoleError('link_invalid', 'The link is not valid: ask for a new one')
  const problem = passwordProblem(password)
  if (problem) throw new ConsoleError('invalid_parameter', problem)
  const email = rawEmail === undefined || rawEmail === null || rawEmail === '' ? null : checkEmail(rawEmail)
  const hash = await hashPassword(password as string)
  const link = await deps.store.console.useLink(secretHash(token), deps.now().toISOString())
  if (!link) throw new ConsoleError('link_invalid', 'The link has expired or was used already: ask for a new one')
  if (link.kind === 'setup') {
    if (!email) throw new ConsoleError('invalid_parameter', 'email: is required to create the operator account')
    const id = deps.newId()
    if (!await deps.store.console.createAccount({ id, email: email.email, emailFolded: email.folded, passwordHash: hash, operator: true, now: deps.now().toISOString() })) {
      throw new ConsoleError('account_exists', 'An account with this email exists already')
    }
    return (await deps.store.console.accountById(id)) as AccountRow
  }
  const account = link.accountId === null ? null : await deps.store.console.accountById(link.accountId)
  if (!account) throw new ConsoleError('link_invalid', 'The link\'s account no longer exists')
  await deps.store.console.setPassword(account.id, hash)
  await deps.store.console.deleteSessions(account.id)
  await deps.store.console.clearSignIn(foldEmail(account.email))
  return account
}

/**
 * An account for `email`, created without a password when there is none. Returns it and whether
 * it still needs its password set (an invitation's link does that).
 */
export async function ensureAccount(deps: Deps, rawEmail: unknown, operator: boolean): Promise<{ account: AccountRow; created: boolean }> {
  const { email, folded } = checkEmail(rawEmail)
  const existing = await deps.store.console.accountByEmail(folded)
  if (existing) {
    if (operator && !existing.operator) await deps.store.console.setOperator(existing.id, true)
    return { account: (await deps.store.console.accountById(existing.id)) as AccountRow, created: false }
  }
  const id = deps.newId()
  await deps.store.console.createAccount({ id, email, emailFolded: folded, passwordHash: null, operator, now: deps.now().toISOString() })
  const account = await deps.store.console.accountByEmail(folded)
  if (!account) throw new ConsoleError('conflict', 'The account could not be created')
  return { account, created: account.id === id }
}

/** A setup link for the first operator, while no console account exists (null once one does). */
export async function setupLinkIfNoAccount(deps: Deps, policy: ConsolePolicy): Promise<{ token: string; expiresAt: Date } | null> {
  if (await deps.store.console.countAccounts() > 0) return null
  return createLink(deps, policy, 'setup', null)
}
