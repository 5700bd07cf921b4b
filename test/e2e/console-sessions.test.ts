// Console accounts, sessions and roles through the server's /api/v1 (docs/console.md), on SQLite
// and PostgreSQL: the setup link, sign-in with its cookie, CSRF on every change, the viewer's
// refusals, lock-out, sign-out everywhere, a removed admin's session, idle expiry, password
// reset by email, the SCIM token's refresh and rotation seen over SCIM, and the operator's view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_POLICY, setupLinkIfNoAccount } from '../../src/console/accounts.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { PASSWORD, call, capturingTransport, consoleAccount, linkToken, signIn, type Session } from '../helpers/console.ts'
import { storeMatrix } from '../helpers/stores.ts'

const OKTA = { 'user-agent': 'Okta SCIM Client 1.0.0' }

describe.each(storeMatrix())('console sessions on $name', (factory) => {
  let t: TestApp
  let clock = Date.now()
  const mail = capturingTransport()
  const lastMail = () => {
    const m = mail.sent.at(-1)
    if (!m) throw new Error('no email was sent')
    return m
  }
  let orgPath = ''
  let admin: Session
  let viewer: Session
  /** The organization's live SCIM token (the helper's first one is refreshed away). */
  let live = ''

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(clock), consoleMail: { transport: mail, from: 'Roster <no-reply@roster.test>', productName: 'Roster' } })
    orgPath = `/api/v1/orgs/${t.orgId}`
  })
  afterAll(async () => t.close())

  it('the first start has a one-time setup link that creates the operator, and none once an account exists', async () => {
    const setup = await setupLinkIfNoAccount(t.deps, DEFAULT_POLICY)
    expect(setup).not.toBeNull()
    const weak = await call(t, 'POST', '/api/v1/console/links/redeem', { body: { token: setup?.token, password: 'short', email: 'op@roster.test' } })
    expect(weak.status).toBe(400)
    expect(weak.json.message).toMatch(/at least 12/)
    const ok = await call(t, 'POST', '/api/v1/console/links/redeem', { body: { token: setup?.token, password: PASSWORD, email: 'op@roster.test' } })
    expect(ok.status).toBe(200)
    expect(ok.json.account).toMatchObject({ email: 'op@roster.test', operator: true })
    const again = await call(t, 'POST', '/api/v1/console/links/redeem', { body: { token: setup?.token, password: PASSWORD, email: 'other@roster.test' } })
    expect(again.status).toBe(400)
    expect(again.json.error).toBe('link_invalid')
    expect(await setupLinkIfNoAccount(t.deps, DEFAULT_POLICY)).toBeNull()
  })

  it('sign-in sets an HttpOnly, SameSite=Strict, Secure __Host- cookie and the session reads the API', async () => {
    await consoleAccount(t, 'admin@acme.test', 'admin')
    await consoleAccount(t, 'viewer@acme.test', 'viewer')
    admin = await signIn(t, 'Admin@Acme.test')
    viewer = await signIn(t, 'viewer@acme.test')
    expect(admin.setCookie).toMatch(/^__Host-roster_session=roster_session_[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/)
    const s = await call(t, 'GET', '/api/v1/console/session', { session: admin })
    expect(s.status).toBe(200)
    expect(s.json.roles).toEqual([{ orgId: t.orgId, orgName: expect.any(String), role: 'admin' }])
    expect((await call(t, 'GET', `${orgPath}/settings`, { session: viewer })).status).toBe(200)
    expect((await call(t, 'GET', `${orgPath}/users`, { session: viewer })).status).toBe(200)
    const other = await t.newOrg('Other Corp')
    expect((await call(t, 'GET', `/api/v1/orgs/${other.orgId}/settings`, { session: admin })).status).toBe(404)
    expect((await call(t, 'GET', '/api/v1/console/session', { headers: { cookie: '__Host-roster_session=roster_session_forged' } })).status).toBe(401)
  })

  it('a wrong password is 401 and the same answer as an unknown email', async () => {
    const wrong = await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'admin@acme.test', password: 'not the password' } })
    const unknown = await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'nobody@acme.test', password: 'not the password' } })
    expect([wrong.status, unknown.status]).toEqual([401, 401])
    expect(wrong.json).toEqual(unknown.json)
  })

  it('a change with a session but without its X-CSRF-Token is refused, and nothing changes', async () => {
    const before = await call(t, 'GET', `${orgPath}/scim-token`, { session: admin })
    const none = await call(t, 'POST', `${orgPath}/scim-token`, { session: admin, csrf: null })
    const wrong = await call(t, 'POST', `${orgPath}/scim-token`, { session: admin, csrf: viewer.csrf })
    expect([none.status, wrong.status]).toEqual([403, 403])
    expect(none.json.error).toBe('csrf_refused')
    expect((await call(t, 'GET', `${orgPath}/scim-token`, { session: admin })).json).toEqual(before.json)
    expect((await call(t, 'PATCH', `${orgPath}/settings`, { session: admin, csrf: null, body: { sendInvitations: false } })).status).toBe(403)
  })

  it('refreshing the token through a session: the old one is refused over SCIM at once, the new one works', async () => {
    expect((await t.req('GET', '/Users', undefined, { headers: OKTA })).status).toBe(200)
    const r = await call(t, 'POST', `${orgPath}/scim-token`, { session: admin })
    expect(r.status).toBe(201)
    const token = String(r.json.token)
    expect(r.json.lastFour).toBe(token.slice(-4))
    expect((await t.req('GET', '/Users')).status).toBe(401)
    expect((await t.req('GET', '/Users', undefined, { token, headers: OKTA })).status).toBe(200)
    const meta = await call(t, 'GET', `${orgPath}/scim-token`, { session: viewer })
    expect(meta.json.tokens).toEqual([expect.objectContaining({ lastFour: token.slice(-4), lastUsedBy: 'okta' })])
    expect(JSON.stringify(meta.json)).not.toContain(token)
    const status = await call(t, 'GET', `${orgPath}/scim-status`, { session: viewer })
    expect(status.json).toMatchObject({ tenantUrl: 'https://roster.test/scim/v2', firstRequestBy: 'okta', lastRequestBy: 'okta', liveTokens: 1 })
    const audit = await call(t, 'GET', `${orgPath}/audit`, { session: admin })
    expect((audit.json.data as { actor: string; action: string }[])[0]).toMatchObject({ actor: 'console:admin@acme.test', action: 'token.refreshed' })
  })

  it('rotation: both tokens work until the identity provider uses the new one, then the old one is refused', async () => {
    const first = String((await call(t, 'POST', `${orgPath}/scim-token`, { session: admin })).json.token)
    const rotated = await call(t, 'POST', `${orgPath}/scim-token/rotate`, { session: admin })
    expect(rotated.status).toBe(201)
    const second = String(rotated.json.token)
    expect((await call(t, 'GET', `${orgPath}/scim-token`, { session: admin })).json).toMatchObject({ rotating: true, tokens: [{}, {}] })
    expect((await t.req('GET', '/Users', undefined, { token: first })).status).toBe(200)
    expect((await t.req('GET', '/Users', undefined, { token: second })).status).toBe(200)
    expect((await t.req('GET', '/Users', undefined, { token: first })).status).toBe(401)
    expect((await call(t, 'GET', `${orgPath}/scim-token`, { session: admin })).json).toMatchObject({ rotating: false, tokens: [{ lastFour: second.slice(-4) }] })
    // Revoking by hand: a third token beside the second, then the second revoked.
    const third = String((await call(t, 'POST', `${orgPath}/scim-token/rotate`, { session: admin })).json.token)
    const tokens = (await call(t, 'GET', `${orgPath}/scim-token`, { session: admin })).json.tokens as { id: string; lastFour: string }[]
    const old = tokens.find((x) => x.lastFour === second.slice(-4))
    expect((await call(t, 'DELETE', `${orgPath}/scim-token/${old?.id}`, { session: admin })).status).toBe(204)
    expect((await t.req('GET', '/Users', undefined, { token: second })).status).toBe(401)
    expect((await t.req('GET', '/Users', undefined, { token: third })).status).toBe(200)
    live = third
  })

  it('a viewer cannot refresh, rotate or revoke the token, change settings, add or verify domains, or invite', async () => {
    const tries = await Promise.all([
      call(t, 'POST', `${orgPath}/scim-token`, { session: viewer }),
      call(t, 'POST', `${orgPath}/scim-token/rotate`, { session: viewer }),
      call(t, 'DELETE', `${orgPath}/scim-token/x`, { session: viewer }),
      call(t, 'PATCH', `${orgPath}/settings`, { session: viewer, body: { sendInvitations: false } }),
      call(t, 'PATCH', `${orgPath}/settings`, { session: viewer, body: { domainAdd: ['acme.test'] } }),
      call(t, 'POST', `${orgPath}/domains/acme.test/verify`, { session: viewer }),
      call(t, 'POST', `${orgPath}/members`, { session: viewer, body: { email: 'x@acme.test', role: 'admin' } }),
      call(t, 'GET', '/api/v1/orgs', { session: viewer }),
    ])
    expect(tries.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 403])
    expect(tries[0]?.json.error).toBe('insufficient_role')
    expect((await t.req('GET', '/Users', undefined, { token: live })).status).toBe(200)
    const settings = await call(t, 'GET', `${orgPath}/settings`, { session: viewer })
    expect(settings.json).toMatchObject({ sendInvitations: true, domains: [] })
  })

  it('an admin adds a domain and changes a setting through the session, recorded under its email', async () => {
    const r = await call(t, 'PATCH', `${orgPath}/settings`, { session: admin, body: { domainAdd: ['acme.test'], sendInvitations: false } })
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ domains: ['acme.test'], sendInvitations: false })
    const bad = await call(t, 'PATCH', `${orgPath}/settings`, { session: admin, body: { domainAdd: ['not a domain'] } })
    expect(bad.status).toBe(400)
    expect(bad.json.message).toMatch(/^domainAdd/)
  })

  it('five failed sign-ins lock the email out, even with the right password, with Retry-After', async () => {
    await consoleAccount(t, 'locked@acme.test', 'viewer')
    for (let i = 0; i < 4; i++) expect((await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'locked@acme.test', password: `wrong password ${i}` } })).status).toBe(401)
    const fifth = await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'locked@acme.test', password: 'wrong password 5' } })
    expect(fifth.status).toBe(429)
    const right = await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'locked@acme.test', password: PASSWORD } })
    expect(right.status).toBe(429)
    expect(right.json.error).toBe('locked_out')
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0)
    clock += DEFAULT_POLICY.lockoutMs + 1_000
    expect((await call(t, 'POST', '/api/v1/console/sign-in', { body: { email: 'locked@acme.test', password: PASSWORD } })).status).toBe(200)
  })

  it('an invitation by email: the invitee chooses a password through the link, then signs in as a viewer', async () => {
    const r = await call(t, 'POST', `${orgPath}/members`, { session: admin, body: { email: 'new@acme.test', role: 'viewer' } })
    expect(r.status).toBe(201)
    expect(r.json).toMatchObject({ emailSent: true, member: { status: 'invited', role: 'viewer' } })
    const message = mail.sent.at(-1)
    expect(message?.to).toBe('new@acme.test')
    expect(message?.text).toContain('https://roster.test/console/#/link?token=')
    const redeemed = await call(t, 'POST', '/api/v1/console/links/redeem', { body: { token: linkToken(lastMail()), password: PASSWORD } })
    expect(redeemed.status).toBe(200)
    const s = await signIn(t, 'new@acme.test')
    expect((await call(t, 'POST', `${orgPath}/scim-token`, { session: s })).status).toBe(403)
    const members = await call(t, 'GET', `${orgPath}/members`, { session: viewer })
    expect(members.json.data).toContainEqual(expect.objectContaining({ email: 'new@acme.test', status: 'active', role: 'viewer' }))
  })

  it('a password reset by email ends the other sessions; unknown emails get the same answer and no email', async () => {
    const s = await signIn(t, 'new@acme.test')
    const sent = mail.sent.length
    expect((await call(t, 'POST', '/api/v1/console/password-reset', { body: { email: 'nobody@acme.test' } })).status).toBe(202)
    expect(mail.sent.length).toBe(sent)
    expect((await call(t, 'POST', '/api/v1/console/password-reset', { body: { email: 'new@acme.test' } })).status).toBe(202)
    // Asking again at once sends nothing more, with the same answer.
    expect((await call(t, 'POST', '/api/v1/console/password-reset', { body: { email: 'new@acme.test' } })).status).toBe(202)
    expect(mail.sent.length).toBe(sent + 1)
    const token = linkToken(lastMail())
    expect((await call(t, 'POST', '/api/v1/console/links/redeem', { body: { token, password: 'a brand new long password' } })).status).toBe(200)
    expect((await call(t, 'GET', '/api/v1/console/session', { session: s })).status).toBe(401)
    await signIn(t, 'new@acme.test', 'a brand new long password')
  })

  it('sign out ends one session; sign out everywhere ends them all', async () => {
    const a = await signIn(t, 'new@acme.test', 'a brand new long password')
    const b = await signIn(t, 'new@acme.test', 'a brand new long password')
    expect((await call(t, 'POST', '/api/v1/console/sign-out', { session: a, csrf: null })).status).toBe(403)
    expect((await call(t, 'POST', '/api/v1/console/sign-out', { session: a })).status).toBe(204)
    expect((await call(t, 'GET', '/api/v1/console/session', { session: a })).status).toBe(401)
    const c = await signIn(t, 'new@acme.test', 'a brand new long password')
    const all = await call(t, 'POST', '/api/v1/console/sign-out-everywhere', { session: c })
    expect(all.json.ended).toBeGreaterThanOrEqual(2)
    expect((await call(t, 'GET', '/api/v1/console/session', { session: b })).status).toBe(401)
  })

  it('a removed admin\'s session ends at once', async () => {
    const id = await consoleAccount(t, 'leaving@acme.test', 'admin')
    const s = await signIn(t, 'leaving@acme.test')
    expect((await call(t, 'GET', `${orgPath}/settings`, { session: s })).status).toBe(200)
    expect((await call(t, 'DELETE', `${orgPath}/members/${id}`, { session: admin })).status).toBe(204)
    expect((await call(t, 'GET', `${orgPath}/settings`, { session: s })).status).toBe(401)
    const audit = await call(t, 'GET', `${orgPath}/audit`, { session: admin })
    expect((audit.json.data as { action: string; details: unknown }[])[0]).toMatchObject({ action: 'member.removed', details: { email: 'leaving@acme.test' } })
  })

  it('a session ends after its idle time, and after its absolute lifetime however busy', async () => {
    const s = await signIn(t, 'admin@acme.test')
    clock += DEFAULT_POLICY.idleMs + 1_000
    expect((await call(t, 'GET', '/api/v1/console/session', { session: s })).status).toBe(401)
    const busy = await signIn(t, 'admin@acme.test')
    for (let used = 0; used < DEFAULT_POLICY.absoluteMs; used += DEFAULT_POLICY.idleMs / 2) {
      clock += DEFAULT_POLICY.idleMs / 2
      const r = await call(t, 'GET', '/api/v1/console/session', { session: busy })
      expect(r.status).toBe(used + DEFAULT_POLICY.idleMs / 2 >= DEFAULT_POLICY.absoluteMs ? 401 : 200)
    }
    admin = await signIn(t, 'admin@acme.test')
  })

  it('the operator lists every organization with its health and creates one without a token', async () => {
    const op = await signIn(t, 'op@roster.test')
    const created = await call(t, 'POST', '/api/v1/orgs', { session: op, body: { name: 'Initech', domains: ['initech.test'] } })
    expect(created.status).toBe(201)
    expect(created.json).toMatchObject({ name: 'Initech', domains: ['initech.test'], liveTokens: 0, firstRequestAt: null })
    expect((await call(t, 'POST', '/api/v1/orgs', { session: op, body: { name: 'Initech' } })).status).toBe(409)
    expect((await t.req('POST', '/Users', user('ada@elsewhere.test'), { token: live, headers: OKTA })).status).toBe(400)
    const list = await call(t, 'GET', '/api/v1/orgs?limit=200', { session: op })
    const mine = (list.json.data as { id: string; lastRequestBy: string | null; errorsLastDay: number }[]).find((o) => o.id === t.orgId)
    expect(mine).toMatchObject({ lastRequestBy: 'okta' })
    expect(mine?.errorsLastDay).toBeGreaterThanOrEqual(1)
    expect((await call(t, 'GET', '/api/v1/orgs', { session: admin })).status).toBe(403)
    // The operator is an admin of every organization.
    expect((await call(t, 'GET', `/api/v1/orgs/${String(created.json.id)}/scim-token`, { session: op })).json).toEqual({ tokens: [], rotating: false })
  })
})
