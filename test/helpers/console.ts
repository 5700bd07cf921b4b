// Console sessions for tests: accounts made through the use cases (as `roster admin create` and
// the setup link make them), and requests through the app with a session cookie and its CSRF token.
import type { InjectOptions } from 'fastify'
import { DEFAULT_POLICY, createLink, ensureAccount, redeemLink } from '../../src/console/accounts.ts'
import type { MailMessage, MailTransport } from '../../src/mail/transport.ts'
import type { ConsoleRole } from '../../src/store/console-store.ts'
import type { OrgId } from '../../src/store/store.ts'
import type { TestApp } from './app.ts'
import { jsonBody } from './json-body.ts'

export const PASSWORD = 'correct horse battery staple'

/** An account with a password and, unless operator, a role in `orgId`. */
export async function consoleAccount(t: TestApp, email: string, role: ConsoleRole | 'operator', orgId: OrgId = t.orgId): Promise<string> {
  const { account } = await ensureAccount(t.deps, email, role === 'operator')
  if (role !== 'operator') await t.store.console.setRole(orgId, account.id, role, t.deps.now().toISOString(), null)
  const link = await createLink(t.deps, DEFAULT_POLICY, 'invite', account.id)
  await redeemLink(t.deps, link.token, PASSWORD, undefined)
  return account.id
}

export interface Session {
  readonly cookie: string
  readonly csrf: string
  readonly setCookie: string
}

export interface CRes {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly json: Record<string, unknown>
}

export async function call(t: TestApp, method: InjectOptions['method'], url: string, opts: { session?: Session; csrf?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<CRes> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.session) headers.cookie = opts.session.cookie
  const csrf = opts.csrf === undefined ? opts.session?.csrf : opts.csrf
  if (csrf) headers['x-csrf-token'] = csrf
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const r = await t.app.inject({ method, url, headers, payload: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
  const json = jsonBody(r.body)
  return { status: r.statusCode, headers: r.headers, json }
}

export async function signIn(t: TestApp, email: string, password = PASSWORD): Promise<Session> {
  const r = await t.app.inject({ method: 'POST', url: '/api/v1/console/sign-in', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) })
  if (r.statusCode !== 200) throw new Error(`sign-in answered ${r.statusCode}: ${r.body}`)
  const setCookie = String(r.headers['set-cookie'])
  const cookie = setCookie.split(';')[0] ?? ''
  return { cookie, csrf: String((JSON.parse(r.body) as { csrfToken: string }).csrfToken), setCookie }
}

/** A mail transport that keeps what it is given. */
export function capturingTransport(): MailTransport & { readonly sent: MailMessage[] } {
  const sent: MailMessage[] = []
  return {
    sent,
    async send(m) {
      sent.push(m)
      return { messageId: String(sent.length), where: 'memory' }
    },
    async close() {},
  }
}

/** The link token in an email's text. */
export function linkToken(m: MailMessage): string {
  const match = /token=([A-Za-z0-9_%-]+)/.exec(m.text)
  if (!match?.[1]) throw new Error(`no link in: ${m.text}`)
  return decodeURIComponent(match[1])
}
