// A user's state across deactivation and reactivation, through the server listening on a real
// port, on each store, with invitations received by a real SMTP server (docs/policies.md,
// "Invitations and user states"): a deactivated pending user cannot accept its invitation (409
// user_suspended, nothing changes) and can once reactivated, with the same link; a user created
// deactivated is invited when it is reactivated, through the mailer's fan-out of the event feed;
// a reactivated user whose invitation is still open gets no second one; an accepted user
// deactivated and reactivated is active again; and users kept after their DELETE under
// `deprovision: suspend` are listed with state=deleted, never in the default list.
// Sources: RFC 7644 §3.5.2 (PATCH of active), §3.6 (a deleted resource is no longer returned).
import { afterEach, describe, expect, it } from 'vitest'
import type { MailerSettings } from '../../src/mail/mailer.ts'
import { smtpTransport } from '../../src/mail/transport.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { startSmtp, tokenIn, type SmtpServer } from '../helpers/smtp-server.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

type Json = Record<string, unknown>
const LINK = 'https://app.example.test/invitations/accept?token='

function mailer(smtpUrl: string): MailerSettings {
  return {
    transport: smtpTransport(smtpUrl, { timeoutMs: 2_000 }), inviteUrl: `${LINK}{token}`, productName: 'Acme Cloud', from: 'Acme Cloud <no-reply@acme.test>',
    ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 250,
  }
}

interface Harness {
  readonly t: TestApp
  readonly mail: SmtpServer
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }>
  scim(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }>
  create(userName: string, extra?: Json): Promise<string>
  setActive(id: string, active: boolean): Promise<void>
  stateOf(id: string): Promise<unknown>
  /** The token of the invitation email `index` (in arrival order), once it arrived. */
  tokenOf(index: number): Promise<string>
}

describe.each(storeMatrix())('user states and invitations on $name', (factory: StoreFactory) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function harness(withMail = true): Promise<Harness> {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    const t = await startApp(factory, {}, withMail ? { mailer: mailer(mail.url) } : {})
    cleanups.push(() => t.close())
    const base = await listening(t)
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const http = async (method: string, url: string, bearer: string, body: unknown, type: string) => {
      const r = await fetch(url, {
        method, headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': type }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await r.text()
      return { status: r.status, json: text ? (JSON.parse(text) as Json) : {} }
    }
    const h: Harness = {
      t, mail,
      api: (method, path, body) => http(method, `${base}/api/v1${path}`, key, body, 'application/json'),
      scim: (method, path, body) => http(method, `${base}/scim/v2${path}`, t.token, body, 'application/scim+json'),
      async create(userName, extra = {}) {
        const r = await h.scim('POST', '/Users', user(userName, extra))
        expect(r.status).toBe(201)
        return String(r.json.id)
      },
      async setActive(id, active) {
        expect((await h.scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: active }))).status).toBe(200)
      },
      stateOf: async (id) => (await h.api('GET', `/orgs/${t.orgId}/users/${id}`)).json.state,
      async tokenOf(index) {
        await eventually(() => mail.received.length > index, 10_000, `invitation email ${index + 1}`)
        return tokenIn(mail.received[index]?.parsed.text ?? '', LINK)
      },
    }
    return h
  }

  it('a deactivated pending user cannot accept its invitation (409 user_suspended, nothing changes); reactivated, it is pending again and the same link makes it active', async () => {
    const h = await harness()
    const id = await h.create('ada@example.com')
    const token = await h.tokenOf(0)
    await eventually(async () => (await h.api('GET', `/orgs/${h.t.orgId}/users/${id}/invitation`)).json.status === 'sent', 10_000, 'the invitation recorded as sent')
    await h.setActive(id, false)
    expect(await h.stateOf(id)).toBe('suspended')

    const refused = await h.api('POST', '/invitations/accept', { token })
    expect(refused.status).toBe(409)
    expect(refused.json).toMatchObject({ error: 'user_suspended', message: expect.stringContaining('The identity provider deactivated this user') })
    expect(await h.stateOf(id)).toBe('suspended')
    expect((await h.api('GET', `/orgs/${h.t.orgId}/users/${id}/invitation`)).json).toMatchObject({ status: 'sent', endedAt: null })

    await h.setActive(id, true)
    expect(await h.stateOf(id)).toBe('pending')
    const accepted = await h.api('POST', '/invitations/accept', { token })
    expect(accepted.status).toBe(200)
    expect(accepted.json).toMatchObject({ id, state: 'active', active: true })
    // The open invitation was kept: the reactivation queued no second one. The next user's email
    // is the second message, so the mailer has read past the reactivation by then.
    await h.create('next@example.com')
    await h.tokenOf(1)
    expect(h.mail.received.map((m) => m.to)).toEqual([['ada@example.com'], ['next@example.com']])
  })

  it('a user created deactivated is not invited; reactivated while pending it is, through the feed, and accepting makes it active', async () => {
    const h = await harness()
    const id = await h.create('grace@example.com', { active: false })
    expect(await h.stateOf(id)).toBe('suspended')
    // Another user created after it is invited first and alone: the deactivated one was passed over.
    await h.create('first@example.com')
    await h.tokenOf(0)
    expect(h.mail.received.map((m) => m.to)).toEqual([['first@example.com']])
    expect((await h.api('GET', `/orgs/${h.t.orgId}/users/${id}/invitation`)).status).toBe(404)

    await h.setActive(id, true)
    expect(await h.stateOf(id)).toBe('pending')
    const token = await h.tokenOf(1)
    expect(h.mail.received[1]?.to).toEqual(['grace@example.com'])
    await eventually(async () => (await h.api('GET', `/orgs/${h.t.orgId}/users/${id}/invitation`)).json.status === 'sent', 10_000, 'the invitation recorded as sent')
    const accepted = await h.api('POST', '/invitations/accept', { token })
    expect(accepted.json).toMatchObject({ id, state: 'active' })
  })

  it('an accepted user deactivated and reactivated is active again', async () => {
    const h = await harness()
    const id = await h.create('lin@example.com')
    const token = await h.tokenOf(0)
    await eventually(async () => (await h.api('GET', `/orgs/${h.t.orgId}/users/${id}/invitation`)).json.status === 'sent', 10_000, 'the invitation recorded as sent')
    expect((await h.api('POST', '/invitations/accept', { token })).json).toMatchObject({ state: 'active' })
    await h.setActive(id, false)
    expect(await h.stateOf(id)).toBe('suspended')
    await h.setActive(id, true)
    expect(await h.stateOf(id)).toBe('active')
  })

  it('users kept after a DELETE under deprovision: suspend are listed with state=deleted, a page at a time, and never in the default list', async () => {
    const h = await harness(false)
    expect((await h.api('PATCH', `/orgs/${h.t.orgId}/settings`, { deprovision: 'suspend', deleteAfterDays: 3, sendInvitations: false })).status).toBe(200)
    const ids = [await h.create('a@example.com'), await h.create('b@example.com'), await h.create('c@example.com')]
    const gone = [ids[0], ids[2]].map(String).sort()
    for (const id of gone) expect((await h.scim('DELETE', `/Users/${id}`)).status).toBe(204)

    const all = await h.api('GET', `/orgs/${h.t.orgId}/users`)
    expect((all.json.data as Json[]).map((u) => u.id)).toEqual([ids[1]])
    const first = await h.api('GET', `/orgs/${h.t.orgId}/users?state=deleted&limit=1`)
    expect(first.status).toBe(200)
    expect(first.json.data).toMatchObject([{ id: gone[0], state: 'deleted' }])
    const second = await h.api('GET', `/orgs/${h.t.orgId}/users?state=deleted&limit=1&cursor=${String(first.json.nextCursor)}`)
    expect(second.json.data).toMatchObject([{ id: gone[1], state: 'deleted' }])
    const third = await h.api('GET', `/orgs/${h.t.orgId}/users?state=deleted&limit=1&cursor=${String(second.json.nextCursor)}`)
    expect(third.json).toEqual({ data: [], nextCursor: null })
    for (const state of ['active', 'suspended', 'pending']) {
      const r = await h.api('GET', `/orgs/${h.t.orgId}/users?state=${state}`)
      expect((r.json.data as Json[]).map((u) => u.id)).toEqual(state === 'active' ? [ids[1]] : [])
    }
    const filtered = await h.api('GET', `/orgs/${h.t.orgId}/users?state=deleted&filter=${encodeURIComponent('userName eq "a@example.com"')}`)
    expect(filtered).toMatchObject({ status: 400, json: { error: 'invalid_parameter', message: expect.stringContaining('state=deleted') } })
    expect((await h.api('GET', `/orgs/${h.t.orgId}/users?state=gone`)).status).toBe(400)
  })
})
