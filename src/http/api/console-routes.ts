// The console's account endpoints under /api/v1/console (sessions, password reset, one-time links)
// and an organization's console members under /api/v1/orgs/{org}/members (docs/console.md).
// Sign-in, reset and links are public (no key, no session); the others take a session or a key.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sourceKey, type AuthFailureLimiter } from '../auth-failures.ts'
import { requestDeps } from '../deadline.ts'
import {
  ConsoleError, checkEmail, confirmPassword, createLink, ensureAccount, redeemLink, signIn, signOut, signOutEverywhere, type ActiveSession, type ConsolePolicy,
} from '../../console/accounts.ts'
import { inviteEmail, linkUrl, resetEmail, type ConsoleMailSettings } from '../../console/mail.ts'
import type { MailMessage } from '../../mail/transport.ts'
import type { Deps } from '../../provisioning/deps.ts'
import type { AccountRow, ConsoleRole } from '../../store/console-store.ts'
import type { OrgId } from '../../store/store.ts'
import { actorOf, authorizeAny, notFound } from './access.ts'
import { clearSessionCookie, secureRequest, setSessionCookie } from './console-auth.ts'
import { CONSOLE } from './console-schemas.ts'
import { ApiError, tooManyFailures } from './errors.ts'

const RESET_EVERY_MS = 60_000

export interface ConsoleRouteOptions {
  readonly policy: ConsolePolicy
  /** Where the console's emails go; null: none is sent (the answer says so). */
  readonly mail: ConsoleMailSettings | null
  /** The server's base URL for a request (links in emails). */
  readonly baseUrl: (request: FastifyRequest) => string
  readonly publicUrl: string | null
  /** Failed authentications per source address (http/auth-failures.ts): wrong passwords count too; none when absent. */
  readonly authFailures?: AuthFailureLimiter
}

/** A ConsoleError as the API's error. */
export function consoleApiError(e: unknown): unknown {
  if (!(e instanceof ConsoleError)) return e
  switch (e.code) {
    case 'bad_credentials': return new ApiError(401, 'bad_credentials', e.message)
    case 'locked_out': return new ApiError(429, 'locked_out', e.message, { 'retry-after': String(e.retryAfterSeconds ?? 60) })
    case 'invalid_parameter': return new ApiError(400, 'invalid_parameter', e.message)
    case 'link_invalid': return new ApiError(400, 'link_invalid', e.message)
    case 'account_exists': return new ApiError(409, 'account_exists', e.message)
    case 'not_found': return new ApiError(404, 'not_found', e.message)
    case 'conflict': return new ApiError(409, 'conflict', e.message)
  }
}

export async function consoleMapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw consoleApiError(e)
  }
}

function accountView(a: AccountRow) {
  return { id: a.id, email: a.email, operator: a.operator }
}

async function sessionView(deps: Deps, s: Pick<ActiveSession, 'account' | 'session' | 'roles'>) {
  const roles: { orgId: string; orgName: string; role: ConsoleRole }[] = []
  for (const [orgId, role] of s.roles) {
    const org = await deps.store.getOrg(orgId)
    if (org) roles.push({ orgId, orgName: org.name, role })
  }
  roles.sort((a, b) => a.orgName.localeCompare(b.orgName))
  return { account: accountView(s.account), roles, csrfToken: s.session.csrf, authenticatedAt: s.session.authenticatedAt, expiresAt: s.session.expiresAt }
}

function requireSession(request: FastifyRequest): ActiveSession {
  if (!request.consoleSession) throw new ApiError(401, 'unauthorized', 'This needs a console session: sign in')
  return request.consoleSession
}

async function send(app: FastifyInstance, mail: ConsoleMailSettings | null, message: MailMessage): Promise<boolean> {
  if (!mail) return false
  try {
    await mail.transport.send(message)
    return true
  } catch (err) {
    app.log.warn({ err }, 'console: an email could not be sent')
    return false
  }
}

export function registerConsoleRoutes(app: FastifyInstance, appDeps: Deps, opts: ConsoleRouteOptions): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  const deps = appDeps
  const absoluteSeconds = Math.floor(opts.policy.absoluteMs / 1000)

  /**
   * A password check, limited per source address as well as per email: an address past
   * ROSTER_AUTH_FAILURES_PER_MINUTE failures (API keys, SCIM tokens and console passwords
   * together) is answered 429 before the password is checked, and each wrong password counts
   * (OWASP ASVS 4.0.3 2.2.1: guesses spread over many emails from one address).
   */
  async function passwordChecked<T>(request: FastifyRequest, email: string, check: (address: string) => Promise<T>): Promise<T> {
    const source = sourceKey(request.ip)
    const wait = opts.authFailures?.refused(source) ?? null
    if (wait !== null) throw tooManyFailures(wait)
    try {
      return await check(source)
    } catch (e) {
      if (e instanceof ConsoleError && (e.code === 'bad_credentials' || e.code === 'locked_out')) {
        opts.authFailures?.failed(source)
        logRefusal(request, email, source, e)
      }
      throw consoleApiError(e)
    }
  }

  /**
   * Every refused password check is a line in the server's log, for the operator (OWASP ASVS
   * 4.0.3 7.2.1: authentication decisions logged, with what an investigation needs; never the
   * password): a failure with the email's count, the failure that locked the email out (also in
   * its account's organizations' audit logs: accounts.ts), and an attempt refused while locked.
   */
  function logRefusal(request: FastifyRequest, email: string, address: string, e: ConsoleError): void {
    const r = e.signIn
    const event = e.code === 'bad_credentials' ? 'console.sign_in_failed' : r?.lockedNow ? 'console.locked_out' : 'console.sign_in_locked'
    const said = { 'console.sign_in_failed': 'console: a password check failed', 'console.locked_out': 'console: an email is locked out after failed sign-ins', 'console.sign_in_locked': 'console: a password check refused, the email locked out' }
    request.log.warn({ event, email, address, failures: r?.failures ?? null, ...(r?.lockedNow ? { organizationsTold: r.orgsTold } : {}) }, said[event])
  }

  app.post<{ Body: { email: string; password: string } }>('/console/sign-in', { schema: CONSOLE.signIn }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const signed = await passwordChecked(request, String(request.body.email).trim(), (address) => signIn(deps, opts.policy, request.body.email, request.body.password, address))
    setSessionCookie(reply, signed.token, absoluteSeconds, secureRequest(request, opts.publicUrl))
    const roles = await deps.store.console.roles(signed.account.id)
    return sessionView(deps, { account: signed.account, session: signed.session, roles: new Map(roles.map((r) => [r.orgId, r.role])) })
  })

  app.get('/console/session', { schema: CONSOLE.getSession }, async (request) => sessionView(deps, requireSession(request)))

  // Re-authentication before minting a SCIM token (OWASP ASVS 4.0.3 3.7.1): the same password
  // check and lock-out as sign-in, on the session's own account.
  app.post<{ Body: { password: string } }>('/console/session/confirm', { schema: CONSOLE.confirmSession }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const s = requireSession(request)
    const authenticatedAt = await passwordChecked(request, s.account.email, (address) => confirmPassword(deps, opts.policy, s, request.body.password, address))
    return sessionView(deps, { ...s, session: { ...s.session, authenticatedAt } })
  })

  app.post('/console/sign-out', { schema: CONSOLE.signOut }, async (request, reply: FastifyReply) => {
    const deps = requestDeps(appDeps, request)
    await signOut(deps, requireSession(request).session)
    clearSessionCookie(reply, secureRequest(request, opts.publicUrl))
    return reply.code(204).send()
  })

  app.post('/console/sign-out-everywhere', { schema: CONSOLE.signOutEverywhere }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const ended = await signOutEverywhere(deps, requireSession(request).account.id)
    clearSessionCookie(reply, secureRequest(request, opts.publicUrl))
    return { ended }
  })

  app.post<{ Body: { email: string } }>('/console/password-reset', { schema: CONSOLE.requestPasswordReset }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const { folded } = await consoleMapped(async () => checkEmail(request.body.email))
    const account = await deps.store.console.accountByEmail(folded)
    // One reset email a minute per account: asking again sends nothing more (the answer is the same).
    const recent = account !== null && await deps.store.console.linkSince(account.id, 'reset', new Date(deps.now().getTime() - RESET_EVERY_MS).toISOString())
    if (account && opts.mail && !recent) {
      const link = await createLink(deps, opts.policy, 'reset', account.id)
      await send(app, opts.mail, resetEmail(opts.mail, {
        to: account.email, url: linkUrl(opts.baseUrl(request), link.token), expiresAt: link.expiresAt,
      }))
    }
    return reply.code(202).send({ status: 'accepted' })
  })

  app.post<{ Body: { token: string; password: string; email?: string } }>('/console/links/redeem', { schema: CONSOLE.redeemLink }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const account = await consoleMapped(() => redeemLink(deps, request.body.token, request.body.password, request.body.email))
    return { account: accountView(account) }
  })

  app.get<{ Params: { org: string } }>('/orgs/:org/members', { schema: CONSOLE.listMembers }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, ['directory:read', 'org:admin'])
    const members = await deps.store.console.members(org.id, 1_000)
    return {
      data: members.map((m) => ({ id: m.account.id, email: m.account.email, role: m.role, since: m.since, status: m.account.passwordHash === null ? 'invited' : 'active' })),
    }
  })

  app.post<{ Params: { org: string }; Body: { email: string; role: ConsoleRole } }>('/orgs/:org/members', { schema: CONSOLE.inviteMember }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    await consoleMapped(async () => checkEmail(request.body.email))
    const org = await authorizeAny(deps, request, request.params.org, ['org:admin'])
    const { account } = await consoleMapped(() => ensureAccount(deps, request.body.email, false))
    const now = deps.now().toISOString()
    await deps.store.console.setRole(org.id, account.id, request.body.role, now, {
      id: deps.newId(), at: now, actor: actorOf(request), action: 'member.invited', details: { email: account.email, role: request.body.role },
    })
    let emailSent = false
    if (account.passwordHash === null) {
      const link = await createLink(deps, opts.policy, 'invite', account.id)
      const inviter = request.consoleSession?.account.email ?? `An admin of ${org.name}`
      emailSent = opts.mail !== null && await send(app, opts.mail, inviteEmail(opts.mail, {
        to: account.email, orgName: org.name, role: request.body.role, inviter, url: linkUrl(opts.baseUrl(request), link.token), expiresAt: link.expiresAt,
      }))
    }
    return reply.code(201).send({
      member: { id: account.id, email: account.email, role: request.body.role, since: now, status: account.passwordHash === null ? 'invited' : 'active' }, emailSent,
    })
  })

  app.delete<{ Params: { org: string; id: string } }>('/orgs/:org/members/:id', { schema: CONSOLE.removeMember }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const org = await authorizeAny(deps, request, request.params.org, ['org:admin'])
    const account = await deps.store.console.accountById(request.params.id)
    const removed = account !== null && await deps.store.console.removeRole(org.id as OrgId, account.id, {
      id: deps.newId(), at: deps.now().toISOString(), actor: actorOf(request), action: 'member.removed', details: { email: account.email },
    })
    if (!removed) throw notFound('member')
    return reply.code(204).send()
  })
}
