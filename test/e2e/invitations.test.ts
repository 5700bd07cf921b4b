// Invitation emails through the real server on each store, received by a real SMTP server
// (`smtp-server`, parsed with `mailparser`): a user created through SCIM starts pending, its
// invitation arrives with a link whose token the application accepts (the user becomes active;
// the feed says user.created, user.invited, user.invitation_accepted), once; expiry, resending,
// revoking, invitations turned off, a mail server that is down when the user is created (the
// SCIM request is answered anyway and the email goes out when the server is back), an address
// the server refuses, and the .eml outbox used when no SMTP server is configured.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { simpleParser } from 'mailparser'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { Mailer, mailerSettings, type MailerSettings } from '../../src/mail/mailer.ts'
import { smtpTransport, type MailTransport } from '../../src/mail/transport.ts'
import { DEFAULT_SETTINGS } from '../../src/orgs/settings.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiCall, apiGet, type ApiGet, FeedReader, type Json, typesOf } from '../helpers/api-client.ts'
import { startApp, user, type AppTestOptions, type TestApp } from '../helpers/app.ts'
import { freePort } from '../helpers/free-port.ts'
import { startSmtp, tokenIn, type SmtpServer } from '../helpers/smtp-server.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

const LINK = 'https://app.example.test/invitations/accept?token='
const DAY = 86_400_000

/** The mailer's settings for a test: this SMTP server, short intervals and retries. */
function mailer(smtpUrl: string, extra: Partial<MailerSettings> = {}): MailerSettings {
  return {
    transport: smtpTransport(smtpUrl, { timeoutMs: 2_000 }), inviteUrl: `${LINK}{token}`, productName: 'Acme Cloud', from: 'Acme Cloud <no-reply@acme.test>',
    ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 250, ...extra,
  }
}

interface Harness {
  readonly t: TestApp
  readonly key: string
  readonly get: ApiGet
  api(method: 'POST' | 'DELETE', path: string, body?: unknown, key?: string): Promise<{ status: number; json: Json; text: string }>
  accept(token: string, key?: string): Promise<{ status: number; json: Json; text: string }>
  invitation(userId: string): Promise<{ status: number; json: Json; text: string }>
  createUser(userName: string, extra?: Json): Promise<string>
}

describe.each(storeMatrix())('invitations on $name', (factory: StoreFactory) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function smtp(opts: Parameters<typeof startSmtp>[0] = {}): Promise<SmtpServer> {
    const s = await startSmtp(opts)
    cleanups.push(() => s.close())
    return s
  }

  async function harness(opts: AppTestOptions): Promise<Harness> {
    const t = await startApp(factory, {}, opts)
    cleanups.push(() => t.close())
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const api: Harness['api'] = (method, path, body, k = key) => apiCall(t, method, path, k, body)
    const get = apiGet(t, () => key)
    return {
      t, key, get, api,
      accept: (token, k) => api('POST', '/invitations/accept', { token }, k),
      async invitation(userId) {
        const r = await get(`/orgs/${t.orgId}/users/${userId}/invitation`)
        return { status: r.status, json: r.json, text: r.text }
      },
      async createUser(userName, extra = {}) {
        const r = await t.req('POST', '/Users', user(userName, extra))
        expect(r.status).toBe(201)
        return String(r.json.id)
      },
    }
  }

  const stateOf = async (h: Harness, id: string) => (await h.get<{ state: string }>(`/orgs/${h.t.orgId}/users/${id}`)).json.state

  it('sends a SCIM-created user an invitation whose link the application accepts: the user becomes active, the feed says created, invited, accepted, and the token works once', async () => {
    const mail = await smtp()
    const h = await harness({ mailer: mailer(mail.url) })
    const id = await h.createUser('ada@example.com', { displayName: 'Ada Lovelace' })
    expect(await stateOf(h, id)).toBe('pending')

    await eventually(() => mail.received.length === 1, 10_000, 'the invitation email')
    const m = mail.received[0]
    if (!m) throw new Error('no message')
    const org = await h.t.store.getOrg(h.t.orgId)
    expect(m.to).toEqual(['ada@example.com'])
    expect(m.parsed.subject).toBe(`You're invited to join ${org?.name ?? ''} on Acme Cloud`)
    expect(m.parsed.from?.value).toEqual([{ address: 'no-reply@acme.test', name: 'Acme Cloud' }])
    expect(m.parsed.text).toContain('Hello Ada Lovelace,')
    expect(m.parsed.text).toContain(LINK)
    const token = tokenIn(m.parsed.text ?? '', LINK)
    expect(token).toMatch(/^roster_inv_[A-Za-z0-9_-]{43}$/)
    expect(m.parsed.html).toContain(`href="${LINK}${token}"`)

    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'the invitation recorded as sent')
    const inv = await h.invitation(id)
    expect(inv.json).toMatchObject({ userId: id, status: 'sent', email: 'ada@example.com', attempts: 1, lastError: null, endedAt: null, nextAttemptAt: null })
    const expiresIn = Date.parse(String(inv.json.expiresAt)) - Date.parse(String(inv.json.sentAt))
    expect(Math.abs(expiresIn - 7 * DAY)).toBeLessThan(60_000)
    // Never the token or anything of it.
    expect(inv.text).not.toContain(token)
    expect(inv.text).not.toContain('roster_inv_')
    expect(Object.keys(inv.json).sort()).toEqual(['attempts', 'createdAt', 'email', 'endedAt', 'expiresAt', 'id', 'lastError', 'nextAttemptAt', 'sentAt', 'status', 'userId'])

    const accepted = await h.accept(token)
    expect(accepted.status).toBe(200)
    expect(accepted.json).toMatchObject({ id, userName: 'ada@example.com', state: 'active', active: true, version: 2 })
    expect(await stateOf(h, id)).toBe('active')
    expect((await h.invitation(id)).json).toMatchObject({ status: 'accepted' })

    const events = await new FeedReader(h.get, h.t.orgId).take(3)
    expect(typesOf(events)).toEqual(['user.created', 'user.invited', 'user.invitation_accepted'])
    const [created, invited, acceptedEvent] = events
    expect(created?.data).toMatchObject({ id, state: 'pending', version: 1 })
    expect(invited?.data).toMatchObject({ id, state: 'pending', version: 1, invitation: { id: inv.json.id, expiresAt: inv.json.expiresAt } })
    expect(acceptedEvent?.data).toMatchObject({ id, state: 'active', version: 2, invitation: { id: inv.json.id } })
    expect(JSON.stringify(events)).not.toContain(token)

    // Single use.
    const again = await h.accept(token)
    expect(again.status).toBe(404)
    expect(again.json).toMatchObject({ error: 'invitation_not_found', message: expect.stringMatching(/accepted already/) })
    expect(mail.received).toHaveLength(1)
  })

  it('holds invitations back while requests keep the server busy, even with its event loop idle, and sends them within about a second anyway', async () => {
    const mail = await smtp()
    // Requests in flight all the time (the server's own measure, http/in-flight.ts): a burst
    // whose event loop waits on the disk. Sends wait up to a second (mail/mailer.ts MAX_DEFER_MS).
    let looks = 0
    const h = await harness({ mailer: mailer(mail.url, { load: () => (looks++, 1) }) })
    await h.createUser('burst@example.com')
    await new Promise((r) => setTimeout(r, 300))
    expect(looks).toBeGreaterThan(0)
    expect(mail.received).toHaveLength(0)
    await eventually(() => mail.received.length === 1, 10_000, 'the invitation email after the deferral')
  })

  it('refuses a token to a key without directory:write (403), to another organization\'s key and for nonsense (404), and a body without a token (400)', async () => {
    const mail = await smtp()
    const h = await harness({ mailer: mailer(mail.url) })
    await h.createUser('grace@example.com')
    await eventually(() => mail.received.length === 1, 10_000, 'the invitation email')
    const token = tokenIn(mail.received[0]?.parsed.text ?? '', LINK)
    const reader = (await createApiKey(h.t.deps, { name: 'reader', orgId: h.t.orgId, scopes: ['directory:read'], expiresAt: null })).key
    expect((await h.accept(token, reader)).json).toMatchObject({ error: 'insufficient_scope' })
    const other = await h.t.newOrg(`other-${Date.now()}`)
    const otherKey = (await createApiKey(h.t.deps, { name: 'other', orgId: other.orgId, scopes: ['*'], expiresAt: null })).key
    const foreign = await h.accept(token, otherKey)
    expect(foreign.status).toBe(404)
    expect(foreign.json.error).toBe('invitation_not_found')
    expect((await h.accept('roster_inv_nonsense')).status).toBe(404)
    const missing = await h.api('POST', '/invitations/accept', {})
    expect(missing.status).toBe(400)
    expect(missing.json).toMatchObject({ error: 'invalid_parameter', message: 'token: is required' })
    // An operator key may accept any organization's invitation.
    const operator = (await createApiKey(h.t.deps, { name: 'operator', orgId: null, scopes: ['directory:write'], expiresAt: null })).key
    await eventually(async () => (await h.get<{ data: { state: string }[] }>(`/orgs/${h.t.orgId}/events?types=user.invited`)).json.data.length === 1, 10_000, 'user.invited')
    expect((await h.accept(token, operator)).json).toMatchObject({ userName: 'grace@example.com', state: 'active' })
  })

  it('a link used after its expiry is 410 invitation_expired; the sweep expires the invitation with user.invitation_expired and the user stays pending', async () => {
    let offset = 0
    const mail = await smtp()
    const h = await harness({ now: () => new Date(Date.now() + offset), mailer: mailer(mail.url) })
    const id = await h.createUser('edsger@example.com')
    await eventually(() => mail.received.length === 1, 10_000, 'the invitation email')
    const token = tokenIn(mail.received[0]?.parsed.text ?? '', LINK)
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'sent')
    offset += 7 * DAY + 60_000
    const late = await h.accept(token)
    expect(late.status).toBe(410)
    expect(late.json.error).toBe('invitation_expired')
    await eventually(async () => (await h.invitation(id)).json.status === 'expired', 10_000, 'the invitation expired by the sweep')
    expect((await h.accept(token)).status).toBe(410)
    expect(await stateOf(h, id)).toBe('pending')
    const events = await new FeedReader(h.get, h.t.orgId).take(3)
    expect(typesOf(events)).toEqual(['user.created', 'user.invited', 'user.invitation_expired'])
    expect(events[2]?.data).toMatchObject({ id, state: 'pending', invitation: { id: (await h.invitation(id)).json.id } })
  })

  it('a resent invitation brings a new email whose token works while the old one does not; a revoked one\'s link fails and the user stays pending', async () => {
    const mail = await smtp()
    const h = await harness({ mailer: mailer(mail.url) })
    const id = await h.createUser('barbara@example.com')
    await eventually(() => mail.received.length === 1, 10_000, 'the first email')
    const first = tokenIn(mail.received[0]?.parsed.text ?? '', LINK)
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'sent')

    const resent = await h.api('POST', `/orgs/${h.t.orgId}/users/${id}/invitation`)
    expect(resent.status).toBe(202)
    expect(resent.json).toMatchObject({ userId: id, status: 'queued', attempts: 0 })
    await eventually(() => mail.received.length === 2, 10_000, 'the second email')
    const second = tokenIn(mail.received[1]?.parsed.text ?? '', LINK)
    expect(second).not.toBe(first)
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'the new one sent')
    expect((await h.invitation(id)).json.id).toBe(resent.json.id)
    const old = await h.accept(first)
    expect(old.status).toBe(404)
    expect(old.json.message).toMatch(/revoked/)
    expect((await h.accept(second)).json).toMatchObject({ id, state: 'active' })
    // An active user has nothing to be invited to.
    const refused = await h.api('POST', `/orgs/${h.t.orgId}/users/${id}/invitation`)
    expect(refused.status).toBe(409)
    expect(refused.json.error).toBe('user_not_pending')

    const other = await h.createUser('alan@example.com')
    await eventually(() => mail.received.length === 3, 10_000, 'the third email')
    const third = tokenIn(mail.received[2]?.parsed.text ?? '', LINK)
    await eventually(async () => (await h.invitation(other)).json.status === 'sent', 10_000, 'sent')
    expect((await h.api('DELETE', `/orgs/${h.t.orgId}/users/${other}/invitation`)).status).toBe(204)
    expect((await h.invitation(other)).json).toMatchObject({ status: 'revoked' })
    expect((await h.accept(third)).status).toBe(404)
    expect(await stateOf(h, other)).toBe('pending')
    expect((await h.api('DELETE', `/orgs/${h.t.orgId}/users/${other}/invitation`)).json).toMatchObject({ error: 'not_found' })
    expect((await h.api('DELETE', `/orgs/${h.t.orgId}/users/00000000-0000-7000-8000-000000000000/invitation`)).status).toBe(404)
    expect(mail.received).toHaveLength(3)
  })

  it('a mailer on a saturated server queues a few claims\' worth of invitations a pass, not a thousand, and queues the rest once the load ends', async () => {
    const mail = await smtp()
    const h = await harness({})
    const ids = await Promise.all(Array.from({ length: 150 }, (_, i) => h.createUser(`busy${i}@example.com`)))
    // Each fan-out pass and how many invitations it queued, as the store answered it.
    const passes: { limit: number; queued: number }[] = []
    const invitations = h.t.store.invitations
    const fanOut = invitations.fanOut.bind(invitations)
    invitations.fanOut = async (o) => {
      const r = await fanOut(o)
      passes.push({ limit: o.limit, queued: r.queued })
      return r
    }
    cleanups.push(async () => {
      invitations.fanOut = fanOut
    })
    let load = 1
    const busy = new Mailer({ store: h.t.store, now: h.t.deps.now, newId: h.t.deps.newId, ...mailer(mail.url), yieldToLoad: true, load: () => load })
    busy.start()
    cleanups.push(() => busy.stop())
    // Saturated: after a second's wait, one pass of 100 events.
    await eventually(() => passes.length > 0, 10_000, 'a first fan-out pass')
    expect(passes[0]).toEqual({ limit: 100, queued: 100 })
    load = 0
    await eventually(() => mail.received.length === 150, 20_000, 'every invitation sent once the load ended')
    expect(passes.some((p) => p.limit === 1_000)).toBe(true)
    expect(new Set(mail.received.map((m) => m.to[0]))).toEqual(new Set(ids.map((_, i) => `busy${i}@example.com`)))
  })

  it('a fan-out page passes over the events it has no use for without handing them out, and its cursor covers them', async () => {
    const h = await harness({})
    const first = await h.createUser('paged-a@example.com')
    for (const name of ['One', 'Two', 'Three']) {
      expect((await h.t.req('PATCH', `/Users/${first}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: name }] })).status).toBe(200)
    }
    const group = await h.t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'paged', members: [{ value: first }] })
    expect(group.status).toBe(201)
    const second = await h.createUser('paged-b@example.com')
    // Every event stamped (PostgreSQL) before the pages are read: the feed shows them all.
    const feed = await new FeedReader(h.get, h.t.orgId).take(7)
    expect(typesOf(feed)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.updated', 'group.created', 'group.member_added', 'user.created'])
    const shown: { type: string; resourceId: string; state: string | null }[] = []
    const at = new Date()
    const page = (after: number) => h.t.store.invitations.fanOut({
      after, limit: 2, types: ['user.created'], persist: false, newId: () => crypto.randomUUID(), now: at.toISOString(), nowMs: at.getTime(),
      pick: (e) => {
        shown.push({ type: e.type, resourceId: e.resourceId, state: e.state })
        return null
      },
    })
    let cursor = 0
    let passedOver = 0
    for (;;) {
      const r = await page(cursor)
      if (r.read === 0) {
        expect(r.cursor).toBe(cursor)
        break
      }
      expect(r.read).toBeLessThanOrEqual(2)
      expect(r.cursor).toBeGreaterThan(cursor)
      cursor = r.cursor
      passedOver += r.read
    }
    expect(passedOver).toBe(feed.length)
    expect(shown).toEqual([
      { type: 'user.created', resourceId: first, state: 'pending' },
      { type: 'user.created', resourceId: second, state: 'pending' },
    ])
  })

  it('with sendInvitations off no email is sent and a new user is active at once', async () => {
    const mail = await smtp()
    const h = await harness({ mailer: mailer(mail.url) })
    await h.t.store.write((tx) => tx.orgs.saveSettings(h.t.orgId, { ...DEFAULT_SETTINGS, sendInvitations: false }))
    const off = await h.createUser('quiet@example.com')
    expect(await stateOf(h, off)).toBe('active')
    // Invitations on again: the next user's email is the only one (the first user's would have come before it).
    await h.t.store.write((tx) => tx.orgs.saveSettings(h.t.orgId, DEFAULT_SETTINGS))
    await h.createUser('loud@example.com')
    await eventually(() => mail.received.length >= 1, 10_000, 'the second user\'s email')
    await eventually(async () => (await h.get<{ data: unknown[] }>(`/orgs/${h.t.orgId}/events?types=user.invited`)).json.data.length === 1, 10_000, 'user.invited')
    expect(mail.received.map((m) => m.to)).toEqual([['loud@example.com']])
    expect((await h.invitation(off)).json).toMatchObject({ error: 'not_found' })
  })

  it('with the mail server down when the user is created, the SCIM POST is answered 201 and the invitation is retried until the server is back', async () => {
    const port = await freePort()
    const h = await harness({ mailer: mailer(`smtp://127.0.0.1:${port}`) })
    const id = await h.createUser('katherine@example.com')
    await eventually(async () => Number((await h.invitation(id)).json.attempts) >= 2, 10_000, 'failed attempts')
    const waiting = (await h.invitation(id)).json
    expect(waiting).toMatchObject({ status: 'queued', sentAt: null, lastError: expect.stringMatching(/^ROSTER_ERR_MAIL_CONNECT/) })
    expect(typeof waiting.nextAttemptAt).toBe('string')
    expect(await stateOf(h, id)).toBe('pending')

    const mail = await smtp({ port })
    await eventually(() => mail.received.length === 1, 10_000, 'the email once the server is back')
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'sent')
    expect((await h.invitation(id)).json).toMatchObject({ lastError: null })
    const token = tokenIn(mail.received[0]?.parsed.text ?? '', LINK)
    expect((await h.accept(token)).json).toMatchObject({ id, state: 'active' })
    expect(mail.received).toHaveLength(1)
  })

  it('an address the mail server refuses with 550 fails the invitation, its answer in lastError, and writes no user.invited', async () => {
    const mail = await smtp({ refuse: (a) => (a.startsWith('nobody@') ? { code: 550, text: '5.1.1 <nobody@example.com>: no such mailbox' } : null) })
    const h = await harness({ mailer: mailer(mail.url) })
    const id = await h.createUser('nobody@example.com')
    await eventually(async () => (await h.invitation(id)).json.status === 'failed', 10_000, 'the invitation failed')
    const inv = (await h.invitation(id)).json
    expect(inv).toMatchObject({ status: 'failed', attempts: 1, sentAt: null, expiresAt: null })
    expect(String(inv.lastError)).toMatch(/^ROSTER_ERR_MAIL_REJECTED: .*550/)
    expect(String(inv.lastError)).toContain('no such mailbox')
    // A user the server takes still gets its email (the refusal held up nothing).
    await h.createUser('somebody@example.com')
    await eventually(() => mail.received.length === 1, 10_000, 'the other email')
    const invited = await new FeedReader(h.get, h.t.orgId).take(1, { types: 'user.invited' })
    expect(invited.map((e) => e.data.userName)).toEqual(['somebody@example.com'])
    expect(await stateOf(h, id)).toBe('pending')
  })

  it('two mailers on one database queue and send each invitation once', async () => {
    const mail = await smtp()
    const h = await harness({ mailer: mailer(mail.url) })
    const second = new Mailer({ store: h.t.store, now: h.t.deps.now, newId: h.t.deps.newId, ...mailer(mail.url) })
    second.start()
    cleanups.push(() => second.stop())
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => h.createUser(`user${i}@example.com`)))
    const invited = await new FeedReader(h.get, h.t.orgId).take(30, { types: 'user.invited' })
    expect(new Set(invited.map((e) => e.data.id))).toEqual(new Set(ids))
    await eventually(() => mail.received.length >= 30, 10_000, 'thirty emails')
    expect(mail.received).toHaveLength(30)
    expect(new Set(mail.received.map((m) => m.to[0])).size).toBe(30)
    // Nothing else is queued, whenever it would be due.
    expect(await h.t.store.invitations.hasDue(Date.now() + 30 * DAY)).toBe(false)
  })

  it('a mailer that sent but never recorded it (killed) is overtaken when its lease ends: the email goes again with a new token, which is the one that works, and user.invited is written once', async () => {
    const mail = await smtp()
    const real = smtpTransport(mail.url, { timeoutMs: 2_000 })
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    // Sends, then hangs as a killed process would, until the test lets it record what it did.
    const stuck: MailTransport = {
      async send(m) {
        const r = await real.send(m)
        await held
        return r
      },
      close: () => real.close(),
    }
    const h = await harness({ mailer: { ...mailer(mail.url), transport: stuck, leaseMs: 300 } })
    cleanups.push(async () => release())
    const id = await h.createUser('hedy@example.com')
    await eventually(() => mail.received.length === 1, 10_000, 'the first email')
    const second = new Mailer({ store: h.t.store, now: h.t.deps.now, newId: h.t.deps.newId, ...mailer(mail.url), leaseMs: 300 })
    second.start()
    cleanups.push(() => second.stop())
    await eventually(() => mail.received.length === 2, 10_000, 'the email sent again after the lease')
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'sent')
    release()
    const [firstToken, secondToken] = mail.received.map((m) => tokenIn(m.parsed.text ?? '', LINK))
    expect(firstToken).not.toBe(secondToken)
    expect((await h.invitation(id)).json).toMatchObject({ attempts: 2 })
    expect((await h.accept(firstToken ?? '')).status).toBe(404)
    expect((await h.accept(secondToken ?? '')).json).toMatchObject({ id, state: 'active' })
    const events = await new FeedReader(h.get, h.t.orgId).take(3)
    expect(typesOf(events)).toEqual(['user.created', 'user.invited', 'user.invitation_accepted'])
  })

  it('without ROSTER_SMTP_URL the invitation is written as an .eml file to the outbox and logged by its path, never its token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roster-outbox-'))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const config = loadConfig({ ROSTER_DATABASE_URL: `sqlite:${join(dir, 'roster.db')}`, ROSTER_INVITE_URL: `${LINK}{token}`, ROSTER_PRODUCT_NAME: 'Acme Cloud' })
    expect(config.outboxDir).toBe(join(dir, 'outbox'))
    const settings = mailerSettings(config)
    expect(settings.writesFiles).toBe(true)
    const lines: string[] = []
    const log = new PassThrough()
    log.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== '')))
    const h = await harness({ mailer: { ...settings, intervalMs: 50 }, logStream: log })
    const id = await h.createUser('mary@example.com')
    await eventually(async () => (await readdir(config.outboxDir).catch(() => [])).some((f) => f.endsWith('.eml')), 10_000, 'the .eml file')
    const files = (await readdir(config.outboxDir)).filter((f) => f.endsWith('.eml'))
    expect(files).toHaveLength(1)
    const file = join(config.outboxDir, files[0] ?? '')
    const parsed = await simpleParser(await readFile(file))
    expect(parsed.subject).toMatch(/ on Acme Cloud$/)
    const token = tokenIn(parsed.text ?? '', LINK)
    await eventually(() => lines.some((l) => l.includes(file)), 10_000, 'the log line')
    const logged = lines.filter((l) => l.includes(file))
    expect(logged).toHaveLength(1)
    expect(lines.join('\n')).not.toContain(token)
    await eventually(async () => (await h.invitation(id)).json.status === 'sent', 10_000, 'sent')
    expect((await h.accept(token)).json).toMatchObject({ id, state: 'active' })
  })
})
