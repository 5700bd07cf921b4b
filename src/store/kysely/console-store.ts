// The admin console's rows over the store's driver (store/console-store.ts, migration 0009).
// Statements are built per call with kysely's `sql` tag (raw-queries.ts): they are few and not on
// the SCIM path, except tokenUsed, which the SCIM surface calls at most once a minute per token.
import { sql } from 'kysely'
import type {
  AccountRow, ConsoleAudit, ConsoleRole, ConsoleStore, LinkKind, LinkRow, MemberRow, NewScimToken, OrgPageRow, RoleRow, SessionRow, SignInState, TokenMeta,
} from '../console-store.ts'
import { OrgGone, type OrgId } from '../store.ts'
import type { Conn } from './prepared.ts'
import { orgPage } from './operator-orgs.ts'
import { RawQueries } from './raw-queries.ts'
import type { StoreDriver } from './store-driver.ts'

interface AccountRecord { id: string; email: string; password_hash: string | null; operator: number | string; created_at: string }
interface SessionRecord { hash: string; account_id: string; csrf: string; created_at: string; authenticated_at: string | null; seen_at: string; expires_at: string }
interface TokenRecord {
  id: string; prefix: string; last_four: string | null; created_at: string; first_used_at: string | null; first_used_by: string | null
  last_used_at: string | null; last_used_by: string | null; rotating: number | string
}

function toAccount(r: AccountRecord): AccountRow {
  return { id: r.id, email: r.email, passwordHash: r.password_hash, operator: Number(r.operator) === 1, createdAt: r.created_at }
}

function toSession(r: SessionRecord): SessionRow {
  return { hash: r.hash, accountId: r.account_id, csrf: r.csrf, createdAt: r.created_at, authenticatedAt: r.authenticated_at ?? r.created_at, seenAt: r.seen_at, expiresAt: r.expires_at }
}

function toToken(r: TokenRecord): TokenMeta {
  return {
    id: r.id, prefix: r.prefix, lastFour: r.last_four, createdAt: r.created_at, firstUsedAt: r.first_used_at, firstUsedBy: r.first_used_by,
    lastUsedAt: r.last_used_at, lastUsedBy: r.last_used_by, rotating: Number(r.rotating) === 1,
  }
}

const ACCOUNT = sql`id, email, password_hash, operator, created_at`

export class KyselyConsole implements ConsoleStore {
  readonly #q: RawQueries

  constructor(driver: StoreDriver) {
    this.#q = new RawQueries(driver)
  }

  #audit(conn: Conn, orgId: OrgId, a: ConsoleAudit): Promise<number> {
    return this.#q.run(conn, sql`insert into audit_log (org_id, id, at, actor, action, details) values (${orgId}, ${a.id}, ${a.at}, ${a.actor}, ${a.action}, ${JSON.stringify(a.details)})`)
  }

  async countAccounts(): Promise<number> {
    const [r] = await this.#q.read<{ n: number | string }>(sql`select count(*) as n from console_accounts`)
    return Number(r?.n ?? 0)
  }

  async accountByEmail(emailFolded: string): Promise<AccountRow | null> {
    const [r] = await this.#q.read<AccountRecord>(sql`select ${ACCOUNT} from console_accounts where email_folded = ${emailFolded}`)
    return r ? toAccount(r) : null
  }

  async accountById(id: string): Promise<AccountRow | null> {
    const [r] = await this.#q.read<AccountRecord>(sql`select ${ACCOUNT} from console_accounts where id = ${id}`)
    return r ? toAccount(r) : null
  }

  createAccount(a: { id: string; email: string; emailFolded: string; passwordHash: string | null; operator: boolean; now: string }): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      const n = await this.#q.run(conn, sql`insert into console_accounts (id, email, email_folded, password_hash, operator, created_at)
        values (${a.id}, ${a.email}, ${a.emailFolded}, ${a.passwordHash}, ${a.operator ? 1 : 0}, ${a.now}) on conflict (email_folded) do nothing`)
      return n === 1
    })
  }

  async setPassword(accountId: string, passwordHash: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`update console_accounts set password_hash = ${passwordHash} where id = ${accountId}`))
  }

  async setOperator(accountId: string, operator: boolean): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`update console_accounts set operator = ${operator ? 1 : 0} where id = ${accountId}`))
  }

  async roles(accountId: string): Promise<readonly RoleRow[]> {
    const rows = await this.#q.read<{ org_id: string; role: string }>(sql`select org_id, role from console_roles where account_id = ${accountId}`)
    return rows.map((r) => ({ orgId: r.org_id as OrgId, role: r.role as ConsoleRole }))
  }

  async setRole(orgId: OrgId, accountId: string, role: ConsoleRole, now: string, audit: ConsoleAudit | null): Promise<void> {
    await this.#q.tx(async (conn) => {
      await this.#q.run(conn, sql`insert into console_roles (org_id, account_id, role, created_at) values (${orgId}, ${accountId}, ${role}, ${now})
        on conflict (org_id, account_id) do update set role = excluded.role`)
      if (audit) await this.#audit(conn, orgId, audit)
    })
  }

  removeRole(orgId: OrgId, accountId: string, audit: ConsoleAudit): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      const n = await this.#q.run(conn, sql`delete from console_roles where org_id = ${orgId} and account_id = ${accountId}`)
      if (n === 0) return false
      await this.#q.run(conn, sql`delete from console_sessions where account_id = ${accountId}`)
      await this.#audit(conn, orgId, audit)
      return true
    })
  }

  async members(orgId: OrgId, limit: number): Promise<readonly MemberRow[]> {
    const rows = await this.#q.read<AccountRecord & { role: string; since: string }>(sql`select a.id, a.email, a.password_hash, a.operator, a.created_at, r.role, r.created_at as since
      from console_roles r join console_accounts a on a.id = r.account_id where r.org_id = ${orgId} order by a.email_folded limit ${limit}`)
    return rows.map((r) => ({ account: toAccount(r), role: r.role as ConsoleRole, since: r.since }))
  }

  async createSession(s: SessionRow): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`insert into console_sessions (hash, account_id, csrf, created_at, authenticated_at, seen_at, expires_at)
      values (${s.hash}, ${s.accountId}, ${s.csrf}, ${s.createdAt}, ${s.authenticatedAt}, ${s.seenAt}, ${s.expiresAt})`))
  }

  async session(hash: string): Promise<{ session: SessionRow; account: AccountRow } | null> {
    const [r] = await this.#q.read<SessionRecord & { email: string; password_hash: string | null; operator: number | string; account_created_at: string }>(
      sql`select s.hash, s.account_id, s.csrf, s.created_at, s.authenticated_at, s.seen_at, s.expires_at, a.email, a.password_hash, a.operator, a.created_at as account_created_at
        from console_sessions s join console_accounts a on a.id = s.account_id where s.hash = ${hash}`)
    if (!r) return null
    return { session: toSession(r), account: toAccount({ id: r.account_id, email: r.email, password_hash: r.password_hash, operator: r.operator, created_at: r.account_created_at }) }
  }

  async touchSession(hash: string, now: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`update console_sessions set seen_at = ${now} where hash = ${hash}`))
  }

  async confirmSession(hash: string, now: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`update console_sessions set authenticated_at = ${now} where hash = ${hash}`))
  }

  async deleteSession(hash: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`delete from console_sessions where hash = ${hash}`))
  }

  deleteSessions(accountId: string): Promise<number> {
    return this.#q.tx((conn) => this.#q.run(conn, sql`delete from console_sessions where account_id = ${accountId}`))
  }

  pruneSessions(now: string, limit: number): Promise<number> {
    return this.#q.tx((conn) => this.#q.run(conn, sql`delete from console_sessions where hash in (select hash from console_sessions where expires_at < ${now} limit ${limit})`))
  }

  async signInState(emailFolded: string): Promise<SignInState | null> {
    const [r] = await this.#q.read<{ failures: number | string; first_failure_at: string; locked_until: string | null }>(
      sql`select failures, first_failure_at, locked_until from console_sign_in where email_folded = ${emailFolded}`)
    return r ? { failures: Number(r.failures), firstFailureAt: r.first_failure_at, lockedUntil: r.locked_until } : null
  }

  failSignIn(
    emailFolded: string, now: string, windowStart: string, threshold: number, lockUntil: string,
    lockAudit?: { readonly newId: () => string; readonly details: Record<string, unknown> },
  ): Promise<SignInState & { readonly lockedNow: boolean; readonly orgsTold: number }> {
    return this.#q.tx(async (conn) => {
      // The row exists before it is read FOR UPDATE (PostgreSQL): a lock on no row held nothing,
      // and the first failures of a burst each counted themselves as the first. The insert of a
      // second waits for the first's commit, then its read sees the count that commit left.
      await this.#q.run(conn, sql`insert into console_sign_in (email_folded, failures, first_failure_at, locked_until) values (${emailFolded}, 0, ${now}, null)
        on conflict (email_folded) do nothing`)
      const lock = this.#q.pg ? sql` for update` : sql``
      const [r] = await this.#q.all<{ failures: number | string; first_failure_at: string; locked_until: string | null }>(conn,
        sql`select failures, first_failure_at, locked_until from console_sign_in where email_folded = ${emailFolded}${lock}`)
      const fresh = !r || Number(r.failures) === 0 || r.first_failure_at < windowStart
      const failures = fresh ? 1 : Number(r.failures) + 1
      const first = fresh ? now : r.first_failure_at
      const locked = failures >= threshold ? lockUntil : fresh ? null : r.locked_until
      await this.#q.run(conn, sql`update console_sign_in set failures = ${failures}, first_failure_at = ${first}, locked_until = ${locked} where email_folded = ${emailFolded}`)
      // The failure that locks the email: not one counted while it was locked already (two at once).
      const lockedNow = failures >= threshold && (fresh || r.locked_until === null || r.locked_until <= now)
      let orgsTold = 0
      if (lockedNow && lockAudit) {
        // Its account's organizations, each told once per lock-out; an email of no account tells none.
        const roles = await this.#q.all<{ org_id: string; email: string }>(conn, sql`select r.org_id, a.email from console_roles r
          join console_accounts a on a.id = r.account_id join orgs o on o.id = r.org_id where a.email_folded = ${emailFolded} order by r.org_id`)
        for (const role of roles) {
          await this.#audit(conn, role.org_id as OrgId, {
            id: lockAudit.newId(), at: now, actor: 'system', action: 'console.locked_out',
            details: { ...lockAudit.details, email: role.email, failures, lockedUntil: locked },
          })
        }
        orgsTold = roles.length
      }
      return { failures, firstFailureAt: first, lockedUntil: locked, lockedNow, orgsTold }
    })
  }

  async clearSignIn(emailFolded: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`delete from console_sign_in where email_folded = ${emailFolded}`))
  }

  async createLink(l: { hash: string; kind: LinkKind; accountId: string | null; now: string; expiresAt: string }): Promise<void> {
    await this.#q.tx(async (conn) => {
      // PostgreSQL: one account's links of a kind change one transaction at a time; two at once
      // each marked only the older links used, and both new links stayed valid.
      if (this.#q.pg) await this.#q.all(conn, sql`select pg_advisory_xact_lock(hashtext(${`roster link ${l.kind} ${l.accountId ?? ''}`}))`)
      const same = l.accountId === null ? sql`account_id is null` : sql`account_id = ${l.accountId}`
      await this.#q.run(conn, sql`update console_links set used_at = ${l.now} where kind = ${l.kind} and ${same} and used_at is null`)
      await this.#q.run(conn, sql`insert into console_links (hash, kind, account_id, created_at, expires_at, used_at) values (${l.hash}, ${l.kind}, ${l.accountId}, ${l.now}, ${l.expiresAt}, null)`)
    })
  }

  async linkSince(accountId: string, kind: LinkKind, since: string): Promise<boolean> {
    const rows = await this.#q.read<{ hash: string }>(sql`select hash from console_links where account_id = ${accountId} and kind = ${kind} and created_at >= ${since} limit 1`)
    return rows.length > 0
  }

  useLink(hash: string, now: string): Promise<LinkRow | null> {
    return this.#q.tx(async (conn) => {
      const lock = this.#q.pg ? sql` for update` : sql``
      const [r] = await this.#q.all<{ kind: string; account_id: string | null; created_at: string; expires_at: string }>(conn,
        sql`select kind, account_id, created_at, expires_at from console_links where hash = ${hash} and used_at is null${lock}`)
      if (!r || r.expires_at <= now) return null
      await this.#q.run(conn, sql`update console_links set used_at = ${now} where hash = ${hash}`)
      return { kind: r.kind as LinkKind, accountId: r.account_id, createdAt: r.created_at, expiresAt: r.expires_at }
    })
  }

  async tokens(orgId: OrgId): Promise<readonly TokenMeta[]> {
    const rows = await this.#q.read<TokenRecord>(sql`select id, prefix, last_four, created_at, first_used_at, first_used_by, last_used_at, last_used_by, rotating
      from scim_tokens where org_id = ${orgId} and revoked_at is null order by created_at, id`)
    return rows.map(toToken)
  }

  async addToken(orgId: OrgId, t: NewScimToken, opts: { rotating: boolean; revokeOthers: boolean }, audit: ConsoleAudit): Promise<void> {
    await this.#q.tx(async (conn) => {
      await this.#q.holdOrg(conn, orgId, 'no key update')
      if (opts.revokeOthers) await this.#q.run(conn, sql`update scim_tokens set revoked_at = ${t.now} where org_id = ${orgId} and revoked_at is null`)
      else await this.#q.run(conn, sql`update scim_tokens set revoked_at = ${t.now} where org_id = ${orgId} and revoked_at is null and rotating = 1 and first_used_at is null`)
      await this.#q.run(conn, sql`insert into scim_tokens (org_id, id, hash, prefix, created_at, revoked_at, last_four, rotating)
        values (${orgId}, ${t.id}, ${t.hash}, ${t.prefix}, ${t.now}, null, ${t.lastFour}, ${opts.rotating ? 1 : 0})`)
      await this.#audit(conn, orgId, audit)
    })
  }

  putAudit(orgId: OrgId, a: ConsoleAudit): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      // The organization held (KEY SHARE), so no entry outlives a deletion committing beside it.
      try {
        await this.#q.holdOrg(conn, orgId)
      } catch (e) {
        if (e instanceof OrgGone) return false
        throw e
      }
      await this.#q.run(conn, sql`insert into audit_log (org_id, id, at, actor, action, details) values (${orgId}, ${a.id}, ${a.at}, ${a.actor}, ${a.action}, ${JSON.stringify(a.details)})
        on conflict (org_id, id) do update set details = excluded.details`)
      return true
    })
  }

  revokeToken(orgId: OrgId, id: string, now: string, audit: ConsoleAudit): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      const n = await this.#q.run(conn, sql`update scim_tokens set revoked_at = ${now} where org_id = ${orgId} and id = ${id} and revoked_at is null`)
      if (n === 0) return false
      // The token left alone is no longer waiting to replace another.
      await this.#q.run(conn, sql`update scim_tokens set rotating = 0 where org_id = ${orgId} and revoked_at is null`)
      await this.#audit(conn, orgId, audit)
      return true
    })
  }

  tokenUsed(hash: string, by: string, now: string): Promise<readonly string[]> {
    return this.#q.tx(async (conn) => {
      const lock = this.#q.pg ? sql` for update` : sql``
      const [t] = await this.#q.all<{ org_id: string; id: string; created_at: string; rotating: number | string }>(conn,
        sql`select org_id, id, created_at, rotating from scim_tokens where hash = ${hash} and revoked_at is null${lock}`)
      if (!t) return []
      await this.#q.run(conn, sql`update scim_tokens set last_used_at = ${now}, last_used_by = ${by},
        first_used_at = coalesce(first_used_at, ${now}), first_used_by = coalesce(first_used_by, ${by}), rotating = 0 where org_id = ${t.org_id} and id = ${t.id}`)
      if (Number(t.rotating) !== 1) return []
      // The identity provider has the new token: the ones it replaces stop working now.
      const older = await this.#q.all<{ id: string }>(conn, sql`select id from scim_tokens where org_id = ${t.org_id} and revoked_at is null and id <> ${t.id}`)
      if (older.length > 0) await this.#q.run(conn, sql`update scim_tokens set revoked_at = ${now} where org_id = ${t.org_id} and revoked_at is null and id <> ${t.id}`)
      return older.map((o) => o.id)
    })
  }

  orgPage(afterFolded: string | null, limit: number): Promise<readonly OrgPageRow[]> {
    return orgPage(this.#q, afterFolded, limit)
  }

  async scimStatus(orgId: OrgId): Promise<{ firstAt: string | null; firstBy: string | null; lastAt: string | null; lastBy: string | null }> {
    const [first] = await this.#q.read<{ at: string; who: string | null }>(sql`select first_used_at as at, first_used_by as who from scim_tokens
      where org_id = ${orgId} and first_used_at is not null order by first_used_at limit 1`)
    const [last] = await this.#q.read<{ at: string; who: string | null }>(sql`select last_used_at as at, last_used_by as who from scim_tokens
      where org_id = ${orgId} and last_used_at is not null order by last_used_at desc limit 1`)
    return { firstAt: first?.at ?? null, firstBy: first?.who ?? null, lastAt: last?.at ?? null, lastBy: last?.who ?? null }
  }
}
