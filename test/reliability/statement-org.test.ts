// Every statement carries the caller's organization (TEN-4; OWASP API Security Top 10 2023,
// API1): each SQL statement the store executes is recorded (src/store/kysely/observed.ts: the
// writer, the reader, the scanning reads as dispatched to the SQLite read worker or the
// PostgreSQL pool, the log file, the event stamper) with the request whose async context issued
// it. A broad workload runs through the app on several organizations: the model test's random
// SCIM sequences (three organizations, members from the next one), the isolation probes (one
// organization's credentials aimed at another's ids), and by hand Bulk, filters and searches,
// discovery, the directory API and its writes, the event feed, webhook endpoints (with the
// dispatcher delivering), declared schemas and unique attributes, settings and audit,
// invitations (with the mailer sending), SCIM tokens and the console. Then each statement that
// names a table with an org_id column (read from the schema) must name org_id as often as it
// names such tables, bind the caller's organization and no other one. A statement that spans
// organizations by design is in ALLOWED below with its reason; any other fails the test.
// Requests go through Fastify's inject: the request's async context then reaches the store
// (over a socket it would be the connection's). Set-up through the use cases and the server's
// own loops (dispatcher, mailer, log appender, retention) run in no request: their statements
// are checked for org_id but bind whichever organization they work on.
import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashApiKey } from '../../src/orgs/api-keys.ts'
import { hashToken } from '../../src/orgs/tokens.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { capturingTransport, consoleAccount, linkToken, signIn, type Session } from '../helpers/console.ts'
import { startReceiver, eventually, type Receiver } from '../helpers/webhook-receiver.ts'
import { injectSender } from './lib/inject.ts'
import type { Answer, Send } from './lib/isolation.ts'
import { makeAttacker, makeVictim, runProbes } from './lib/isolation.ts'
import { prng } from '../helpers/filter-fuzz.ts'
import { command, newWorld, stepArb } from './lib/model.ts'
import { check, observedStores, orgScopedTables, problemOf, StatementLog, type Allowed, type Seen } from './lib/statement-org.ts'

const SEED = Number(process.env.STATEMENT_ORG_SEED ?? Math.floor(Math.random() * 2 ** 31))

/** Statements that span organizations by design, each with why. */
const ALLOWED: readonly Allowed[] = [
  // Credentials: the organization is what they find.
  { name: 'scim token by hash', sql: /\bscim_tokens"?( as "t")?\b[\s\S]* where ("t"\.)?"?hash"? = (\?|\$\d+)/, why: 'a SCIM request\'s token is looked up (and its use recorded) by its hash: that finds the organization' },
  { name: 'api key by hash', sql: /from "api_keys" where "hash" = (\?|\$1)/, why: 'an API key is looked up by its hash: that finds its organization (or none: the operator\'s)' },
  { name: 'api key last used', sql: /^update "api_keys" set "last_used_at" = (\?|\$1) where "id" = (\?|\$2)$/, why: 'the key found above, by its id: keys belong to the vendor (org_id null for the operator\'s)' },
  { name: 'console roles', sql: /^select org_id, role from console_roles where account_id = (\?|\$1)$/, why: 'a console account\'s roles in every organization: its session\'s organizations' },
  // The event feed's one sequence.
  { name: 'next feed position', part: true, sql: /\(select l\.position \+ l\.count from events l order by l\.position desc limit 1\)/, why: 'SQLite: positions are one sequence over every organization, the next after the last event of any' },
  // The mailer: one queue of invitations over every organization.
  { name: 'mailer feed', sql: /^with page as \(select max\(position\) as hi, count\(\*\) as n from\s+\(select position from events where (position is not null and )?position > /, why: 'the mailer reads every organization\'s user.created and user.reactivated events after its cursor, to queue their invitations' },
  { name: 'invitations due', sql: /^select id from invitations where status = 'queued' and next_attempt_ms <= /, why: 'whether any organization\'s invitation is due' },
  { name: 'invitations expiring', sql: /^select \* from invitations where status = 'sent' and expires_at <= /, why: 'the expiry sweep over every organization\'s sent invitations' },
  // The webhook dispatcher: one delivery queue over every organization; rows by their own ids.
  { name: 'deliveries due', sql: /^select d\.id from webhook_deliveries d\s+where d\.is_head = 1 and d\.next_attempt_ms <= /, why: 'whether any delivery is due' },
  { name: 'fan-out endpoints', sql: /^select \* from webhook_endpoints where enabled = 1\s*( for update skip locked)?$|^select w\.id from webhook_endpoints w where w\.enabled = 1\s+and exists/, why: 'fan-out: every organization\'s enabled endpoints with events past their cursor' },
  { name: 'fan-out lanes', sql: /^select distinct lane from webhook_deliveries where endpoint_id = /, why: 'fan-out: an endpoint\'s open lanes, by the endpoint\'s id (unique over every organization)' },
  { name: 'claim endpoints', sql: /^with recursive e\(id\) as \(\s+select min\(endpoint_id\) from webhook_deliveries where is_head = 1/, why: 'claims: the endpoints with due deliveries, over every organization' },
  { name: 'claim heads', sql: /^select d\.id, d\.next_attempt_ms from webhook_deliveries d\s+where d\.endpoint_id = /, why: 'claims: an endpoint\'s due lane heads, by the endpoint\'s id' },
  { name: 'lease', sql: /^update webhook_deliveries set lease_until_ms = (\?|\$1), lease_owner = (\?|\$2)\s+where "id" (in|= any)/, why: 'claims: the claimed deliveries leased by their ids' },
  { name: 'complete', sql: /^update webhook_deliveries set event_offset = |^delete from webhook_deliveries where "id" (in|= any)|^update webhook_deliveries set is_head = 1 where id in/, why: 'results: deliveries retried, done and their lanes\' next heads, by the ids the claim returned' },
  // PostgreSQL's event stamper (store/kysely/event-stamper.ts).
  { name: 'event stamper', sql: /^select seq, count from events where position is null order by seq|^update events e set position = r\.position from unnest\(/, why: 'PostgreSQL: committed events of every organization get their feed positions in commit order, oldest first' },
  // Rows picked by an organization's own subquery.
  { name: 'members by ctid', part: true, sql: /^delete from group_members where ctid = any\(array\(/, why: 'PostgreSQL: a membership PATCH deletes the rows its subquery (checked: org_id bound) picked, by their physical ids' },
  // Retention, over every organization.
  { name: 'event retention', sql: /^delete from events where (position|seq) in \(select (position|seq) from events where at < /, why: 'the feed\'s retention deletes old events of every organization' },
]

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

let current = new StatementLog()

describe.each(observedStores(['sqlite', 'postgres'], () => current))('every statement carries the caller\'s organization on $name', (factory) => {
  let t: TestApp
  let log: StatementLog
  let rx: Receiver
  const mail = capturingTransport()
  let url = ''
  /** Organization of each credential (SCIM token or API key); found through the store the first time. */
  const credOrg = new Map<string, string>()
  const orgs = new Set<string>()
  let send: Send

  beforeAll(async () => {
    log = new StatementLog()
    current = log
    rx = await startReceiver()
    const opened = { url: '' }
    t = await startApp({ name: factory.name, async open() {
      const o = await factory.open()
      opened.url = o.url
      return o
    } }, {}, {
      transport: 'inject',
      // The sweeps (log and event retention, deprovisioning) run every second, during the workload.
      pruneIntervalMs: 1_000,
      // No DNS: the isolation victim's endpoint (an example.com host) fails at once.
      webhooks: { timeoutMs: 1_000, intervalMs: 50, lookup: async (host) => { if (host === '127.0.0.1') return [{ address: host, family: 4 }]; throw new Error(`no DNS in tests: ${host}`) } },
      mailer: { transport: mail, inviteUrl: 'https://app.example.test/accept?token={token}', productName: 'Acme', from: 'Acme <no-reply@acme.test>', ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 250 },
    })
    url = opened.url
    // Started here, outside any request: inject would otherwise start the app (its dispatcher's
    // and mailer's loops) in the first request's context.
    await t.app.ready()
    orgs.add(t.orgId)
    const inner = injectSender(t.app)
    send = async (method, path, cred, body, headers): Promise<Answer> => {
      let org = credOrg.get(cred)
      if (org === undefined) {
        org = (await t.store.orgByTokenHash(hashToken(cred))) ?? (await t.store.apiKeyByHash(hashApiKey(cred)))?.orgId ?? undefined
        if (org === undefined) throw new Error(`no organization for the credential of ${method} ${path}`)
        credOrg.set(cred, org)
        orgs.add(org)
      }
      const o = org
      return log.as({ org: o, what: `${method} ${path}` }, () => inner(method, path, cred, body, headers))
    }
  })
  afterAll(async () => {
    await t?.close()
    await rx?.stop()
  })

  it('a broad workload on several organizations: every statement names org_id and binds only the caller\'s organization', async () => {
    console.log(`[statement-org] ${factory.name}: STATEMENT_ORG_SEED=${SEED}`)
    // The model's random SCIM sequences: three organizations, members named across them.
    const world = await newWorld(t.deps, send)
    for (const o of world.real.orgs) orgs.add(o.id)
    await fc.assert(fc.asyncProperty(fc.commands([stepArb.map(command)], { maxCommands: 25 }), async (cmds) => {
      await fc.asyncModelRun(() => world, [...cmds])
    }), { seed: SEED, numRuns: 2 })
    // One organization's credentials at another's ids.
    const victim = await makeVictim(t.deps, send, 6)
    const attacker = await makeAttacker(t.deps, send)
    orgs.add(victim.target.orgId)
    orgs.add(attacker.orgId)
    const stats = await runProbes(send, victim, attacker, prng(SEED), 150)
    expect(stats.leaks).toEqual([])
    // By hand, on two organizations.
    for (const o of [world.real.orgs[0], world.real.orgs[1]]) {
      if (!o) throw new Error('no organization')
      await byHand(o.id, o.token)
    }
    // The operator lists the organizations (its requests' caller: the server's first organization).
    const operatorEmail = `operator-${randomUUID().slice(0, 6)}@acme.test`
    await consoleAccount(t, operatorEmail, 'operator')
    const operator = await log.as({ org: t.orgId, what: 'operator sign-in' }, () => signIn(t, operatorEmail))
    await consoleCall(t.orgId, operator, 'GET', '/api/v1/orgs?limit=2')
    await consoleCall(t.orgId, operator, 'GET', `/api/v1/orgs/${t.orgId}/scim-status`)
    const tables = await orgScopedTables(url)
    for (const table of ['users', 'groups', 'group_members', 'user_emails', 'events', 'provisioning_log', 'webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'invitations', 'audit_log', 'scim_tokens', 'unique_values', 'org_domains']) {
      expect(tables, table).toContain(table)
    }
    const report = check(log.seen, tables, orgs, ALLOWED)
    console.log(`[statement-org] ${factory.name}: ${report.checked} statements, ${report.scoped} on organization tables, ${log.seen.filter((s) => s.caller).length} in requests; allowed ${JSON.stringify(Object.fromEntries(report.allowedUses))}`)
    expect(report.problems).toEqual([])

    // The check can fail. Each allowlist entry this run used is needed: without it, statements fail.
    for (const a of ALLOWED) {
      if ((report.allowedUses.get(a.name) ?? 0) === 0) continue
      expect(check(log.seen, tables, orgs, ALLOWED.filter((x) => x !== a)).problems.length, a.name).toBeGreaterThan(0)
    }
    // A store call for another organization made in a request (the bug a handler passing the
    // path's organization instead of the credential's would be) is reported.
    const from = log.seen.length
    await log.as({ org: attacker.orgId, what: 'deliberately wrong' }, async () => {
      await t.store.getUser(victim.target.orgId as never, victim.target.userId as never, { withMembership: true })
    })
    expect(check(log.seen.slice(from), tables, orgs, ALLOWED).problems.join('\n')).toMatch(/binds another organization's id/)
  }, 120_000)

  async function byHand(orgId: string, token: string): Promise<void> {
    const key = (await createApiKey(t.deps, { name: 'all', orgId: orgId as never, scopes: ['*'], expiresAt: null })).key
    const ok = async (method: string, path: string, cred: string, body?: unknown): Promise<Record<string, unknown>> => {
      const r = await send(method, path, cred, body)
      if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${r.text}`)
      return r.text ? JSON.parse(r.text) as Record<string, unknown> : {}
    }
    const scim = (method: string, path: string, body?: unknown) => ok(method, `/scim/v2${path}`, token, body)
    const api = (method: string, path: string, body?: unknown) => ok(method, `/api/v1/orgs/${orgId}${path}`, key, body)
    const m = randomUUID().slice(0, 6)
    // Declared schema with a unique attribute, then SCIM through it.
    await api('PATCH', '/settings', { sendInvitations: true })
    await ok('GET', '/scim/v2/Schemas', token)
    await ok('GET', '/scim/v2/ResourceTypes', token)
    await ok('GET', '/scim/v2/ServiceProviderConfig', token)
    const hook = await api('POST', '/webhooks', { url: rx.url, description: `hook ${m}` })
    // Bulk: users, a group naming them by bulkId, a PATCH and a DELETE.
    const bulk = await scim('POST', '/Bulk', { schemas: [BULK], Operations: [
      { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER], userName: `a-${m}@x.example`, emails: [{ value: `a-${m}@x.example`, type: 'work', primary: true }], externalId: `ext-a-${m}` } },
      { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER], userName: `b-${m}@x.example`, active: false } },
      { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: `Bulk ${m}`, members: [{ value: 'bulkId:a' }, { value: 'bulkId:b' }] } },
      { method: 'PATCH', path: '/Users/bulkId:b', data: { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: true }] } },
      { method: 'DELETE', path: '/Users/bulkId:b' },
    ] }) as { Operations: { location?: string }[] }
    const userId = String(bulk.Operations[0]?.location?.split('/').pop())
    const groupId = String(bulk.Operations[2]?.location?.split('/').pop())
    const q = encodeURIComponent
    for (const f of [`userName eq "a-${m}@x.example"`, 'emails[type eq "work" and value co "x.example"]', `externalId sw "ext-"`, 'meta.lastModified gt "2000-01-01T00:00:00Z"', `groups.value eq "${groupId}"`, 'not (active eq false)']) {
      await scim('GET', `/Users?filter=${q(f)}&sortBy=userName&startIndex=2&count=3`)
    }
    await scim('GET', `/Groups?filter=${q(`members.value eq "${userId}"`)}&excludedAttributes=members`)
    await scim('POST', '/Users/.search', { schemas: [SEARCH], filter: 'userName co "x"', count: 2 })
    await scim('POST', '/.search', { schemas: [SEARCH], filter: 'displayName pr' })
    await scim('GET', `/Groups/${groupId}`)
    await scim('PATCH', `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }] })
    await scim('PUT', `/Users/${userId}`, { schemas: [USER], userName: `a-${m}@x.example`, displayName: 'A', externalId: `ext-a-${m}` })
    // The directory API and its writes.
    const app = await api('POST', '/users', { userName: `app-${m}@x.example`, email: `app-${m}@x.example` })
    await api('PATCH', `/users/${String(app.id)}`, { metadata: { plan: 'pro' } })
    const invitee = (email: string) => ({ schemas: [USER], userName: email, emails: [{ value: email, type: 'work', primary: true }] })
    const dirId = String((await scim('POST', '/Users', invitee(`dir-${m}@x.example`))).id)
    await api('GET', '/users?limit=2')
    await api('GET', `/users?filter=${q('userName sw "a-"')}`)
    await api('GET', `/users/${userId}`)
    await api('GET', `/users/${userId}/groups`)
    await api('GET', `/users/by-user-name/${q(`a-${m}@x.example`)}`)
    await api('GET', `/users/by-external-id/ext-a-${m}`)
    await api('GET', '/groups?limit=5')
    await api('GET', `/groups/${groupId}`)
    await api('GET', `/groups/${groupId}/members`)
    // Invitations: the mailer sends one for the directory's user; it is read, resent, accepted.
    await eventually(() => mail.sent.some((x) => x.to.includes(`dir-${m}@x.example`)), 10_000, 'the invitation email')
    await api('GET', `/users/${dirId}/invitation`)
    await api('POST', `/users/${dirId}/invitation`)
    await eventually(() => mail.sent.filter((x) => x.to.includes(`dir-${m}@x.example`)).length >= 2, 10_000, 'the resent invitation')
    const last = mail.sent.filter((x) => x.to.includes(`dir-${m}@x.example`)).pop()
    if (!last) throw new Error('no invitation')
    await ok('POST', '/api/v1/invitations/accept', key, { token: linkToken(last) })
    const other = await scim('POST', '/Users', invitee(`rev-${m}@x.example`))
    await eventually(() => mail.sent.some((x) => x.to.includes(`rev-${m}@x.example`)), 10_000, 'the second invitation email')
    await api('DELETE', `/users/${String(other.id)}/invitation`)
    // Webhook endpoint management, with deliveries made meanwhile.
    await eventually(() => rx.accepted.some((d) => d.event.data.orgId === orgId), 10_000, 'a delivery')
    const hookId = String(hook.id)
    await api('GET', '/webhooks')
    await api('GET', `/webhooks/${hookId}`)
    await api('PATCH', `/webhooks/${hookId}`, { description: 'changed' })
    await api('POST', `/webhooks/${hookId}/test`)
    await api('GET', `/webhooks/${hookId}/attempts?limit=5`)
    const feed = await api('GET', '/events?limit=5') as { data: { id: string }[]; nextCursor: string }
    await api('GET', `/events?after=${feed.nextCursor}&limit=100`)
    await api('POST', `/webhooks/${hookId}/redeliver`, { eventId: feed.data[0]?.id })
    await api('POST', `/webhooks/${hookId}/replay`, { after: feed.nextCursor })
    await api('POST', `/webhooks/${hookId}/rotate-secret`)
    // The log, settings, audit, schemas.
    await api('GET', '/provisioning-log?limit=5')
    await api('GET', `/provisioning-log?user=${userId}&status=2xx&since=1h`)
    await api('GET', '/settings')
    await api('GET', '/audit?limit=5')
    await api('GET', '/schemas')
    // SCIM deletes.
    await scim('DELETE', `/Groups/${groupId}`)
    await scim('DELETE', `/Users/${userId}`)
    await api('DELETE', `/webhooks/${hookId}`)
    // The console: an admin of this organization signs in and reads its pages.
    const email = `admin-${m}@acme.test`
    await consoleAccount(t, email, 'admin', orgId as never)
    const session = await log.as({ org: orgId, what: 'sign-in' }, () => signIn(t, email))
    const con = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => consoleCall(orgId, session, method, path, body)
    await con('GET', '/api/v1/console/session')
    await con('POST', '/api/v1/console/session/confirm', { password: 'correct horse battery staple' })
    for (const p of ['/members', '/scim-status', '/scim-token', '/users?limit=3', '/users?state=pending', '/groups?limit=3', '/provisioning-log?identityProvider=entra&limit=3', '/webhooks', '/audit', '/settings']) {
      await con('GET', `/api/v1/orgs/${orgId}${p}`)
    }
    const invited = await con('POST', `/api/v1/orgs/${orgId}/members`, { email: `viewer-${m}@acme.test`, role: 'viewer' }) as { id?: string }
    if (invited.id) await con('DELETE', `/api/v1/orgs/${orgId}/members/${invited.id}`)
  }

  async function consoleCall(orgId: string, session: Session, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<Record<string, unknown>> {
    const r = await log.as({ org: orgId, what: `console ${method} ${path}` }, () => t.app.inject({
      method, url: path, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    }))
    if (r.statusCode >= 400) throw new Error(`console ${method} ${path}: ${r.statusCode} ${r.body}`)
    return r.body ? JSON.parse(r.body) as Record<string, unknown> : {}
  }

  it('naming another organization reads nothing of it: an API key or a console session with its id or name in the path, a key with its invitation token', async () => {
    const a = await t.newOrg(`a-${randomUUID().slice(0, 6)}`)
    const bName = `b-${randomUUID().slice(0, 6)}`
    const b = await t.newOrg(bName)
    orgs.add(a.orgId)
    orgs.add(b.orgId)
    const aKey = (await createApiKey(t.deps, { name: 'a', orgId: a.orgId, scopes: ['*'], expiresAt: null })).key
    const bKey = (await createApiKey(t.deps, { name: 'b', orgId: b.orgId, scopes: ['*'], expiresAt: null })).key
    const email = `pending-${randomUUID().slice(0, 6)}@x.example`
    const invited = await send('POST', '/scim/v2/Users', b.token, { schemas: [USER], userName: email, emails: [{ value: email, type: 'work', primary: true }] })
    expect(invited.status).toBe(201)
    await eventually(() => mail.sent.some((x) => x.to.includes(email)), 10_000, 'the invitation email')
    const token = linkToken(mail.sent.filter((x) => x.to.includes(email)).pop() as Parameters<typeof linkToken>[0])
    const admin = `a-admin-${randomUUID().slice(0, 6)}@acme.test`
    await consoleAccount(t, admin, 'admin', a.orgId)
    const session = await log.as({ org: a.orgId, what: 'sign-in' }, () => signIn(t, admin))
    const from = log.seen.length
    for (const path of [`/api/v1/orgs/${b.orgId}/users`, `/api/v1/orgs/${bName}/settings`, `/api/v1/orgs/${bName.toUpperCase()}/webhooks`]) {
      expect((await send('GET', path, aKey)).status, path).toBe(404)
    }
    for (const path of [`/api/v1/orgs/${b.orgId}/members`, `/api/v1/orgs/${bName}/users`]) {
      const r = await log.as({ org: a.orgId, what: `console GET ${path}` }, () => t.app.inject({ method: 'GET', url: path, headers: { cookie: session.cookie } }))
      expect(r.statusCode, path).toBe(404)
    }
    expect((await send('POST', '/api/v1/invitations/accept', aKey, { token })).status).toBe(404)
    const tables = await orgScopedTables(url)
    expect(check(log.seen.slice(from), tables, orgs, ALLOWED).problems).toEqual([])
    // Their own organization, by id and by name, still answers; B's key accepts B's invitation.
    expect((await send('GET', `/api/v1/orgs/${a.orgId}/users`, aKey)).status).toBe(200)
    expect((await send('GET', `/api/v1/orgs/${bName.toUpperCase()}/users`, bKey)).status).toBe(200)
    expect((await log.as({ org: a.orgId, what: 'console own' }, () => t.app.inject({ method: 'GET', url: `/api/v1/orgs/${a.orgId}/members`, headers: { cookie: session.cookie } }))).statusCode).toBe(200)
    expect((await send('POST', '/api/v1/invitations/accept', bKey, { token })).status).toBe(200)
  })

  it('the check can fail: a statement without org_id, or binding another organization, in a request is reported', () => {
    const tables = new Set(['users', 'group_members'])
    const known = new Set(['a1b2c3d4-0000-7000-8000-00000000000a', 'a1b2c3d4-0000-7000-8000-00000000000b'])
    const [a, b] = [...known] as [string, string]
    const inA = (sql: string, params: unknown[]): Seen => ({ sql, params, conn: 'reader', caller: { org: a, what: 'test' } })
    expect(problemOf(inA('select * from "users" where "id" = ?', ['u']), tables, known)).toMatch(/without org_id/)
    expect(problemOf(inA('select * from "users" where "org_id" = ? and "id" = ?', [b, 'u']), tables, known)).toMatch(/another organization/)
    expect(problemOf(inA('select * from users u join group_members m on m.member_id = u.id where u.org_id = ?', [a]), tables, known)).toMatch(/2 references .* but 1 of org_id/)
    expect(problemOf(inA('select * from "users" where "org_id" = (select org_id from x)', []), tables, known)).toMatch(/without binding the caller/)
    expect(problemOf(inA('select * from "users" where "org_id" = ? and "id" = ?', [a, 'u']), tables, known)).toBeNull()
    expect(problemOf(inA('select * from group_members where org_id = ?', [Buffer.from(a.replaceAll('-', ''), 'hex')]), tables, known)).toBeNull()
  })
})
