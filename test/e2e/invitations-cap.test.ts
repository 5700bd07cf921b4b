// The per-organization cap on invitation emails (ROSTER_INVITATIONS_PER_HOUR; OWASP API Security
// Top 10 2023, API6: an identity provider that creates thousands of users must not make the
// server send thousands of emails at once), through the real server on each store with a real
// SMTP server: with a cap of 5, twelve users created through SCIM are all answered 201, five
// emails go out, the other seven invitations stay queued (due when the hour has room) while a
// second organization's go out; an hour later on the mailer's clock five more go, and the last
// two the hour after. Two mailers on one database share the cap.
import { afterEach, describe, expect, it } from 'vitest'
import { Mailer, type MailerSettings } from '../../src/mail/mailer.ts'
import { smtpTransport } from '../../src/mail/transport.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiGet } from '../helpers/api-client.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { startSmtp, type SmtpServer } from '../helpers/smtp-server.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

const HOUR = 3_600_000
const CAP = 5

interface Invitation {
  readonly status: string
  readonly attempts: number
  readonly sentAt: string | null
  readonly nextAttemptAt: string | null
  readonly lastError: string | null
}

describe.each(storeMatrix())('the invitations-per-hour cap on $name', (factory: StoreFactory) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function mailer(mail: SmtpServer): MailerSettings {
    return {
      transport: smtpTransport(mail.url, { timeoutMs: 2_000 }), inviteUrl: 'https://app.example.test/accept?token={token}', productName: 'Acme Cloud',
      from: 'Acme Cloud <no-reply@acme.test>', ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 250, perOrgPerHour: CAP,
    }
  }

  async function create(t: TestApp, userName: string, token?: string): Promise<string> {
    const r = await t.req('POST', '/Users', user(userName), token === undefined ? {} : { token })
    expect(r.status).toBe(201)
    return String(r.json.id)
  }

  it('sends an organization five of twelve invitations, keeps seven queued while another organization\'s go out, and sends five an hour later and the last two the hour after', async () => {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    let offset = 0
    const t = await startApp(factory, {}, { now: () => new Date(Date.now() + offset), mailer: mailer(mail) })
    cleanups.push(() => t.close())
    const key = (await createApiKey(t.deps, { name: 'app', orgId: null, scopes: ['*'], expiresAt: null })).key
    const get = apiGet(t, () => key)
    const invitation = async (orgId: string, id: string) => (await get<Invitation>(`/orgs/${orgId}/users/${id}/invitation`)).json
    const to = (domain: string) => mail.received.flatMap((m) => m.to).filter((a) => a.endsWith(`@${domain}`))

    // Twelve users at once, as an identity provider's first sync sends them: every request is answered.
    const acme = await Promise.all(Array.from({ length: 12 }, (_, i) => create(t, `user${i}@acme.test`)))
    await eventually(() => to('acme.test').length === CAP, 20_000, 'the first five emails')
    // The five sent, and the seven held until the first of them is an hour old.
    await eventually(async () => {
      const all = await Promise.all(acme.map((id) => invitation(t.orgId, id)))
      return all.filter((i) => i.status === 'sent').length === CAP && all.filter((i) => i.status === 'queued' && i.nextAttemptAt !== null).length === 12 - CAP &&
        all.filter((i) => i.status === 'queued').every((i) => Date.parse(i.nextAttemptAt ?? '') >= Date.now() + offset + HOUR / 2)
    }, 20_000, 'five sent and seven held')
    const first = await Promise.all(acme.map((id) => invitation(t.orgId, id)))
    const sentAts = first.flatMap((i) => (i.sentAt === null ? [] : [Date.parse(i.sentAt)]))
    const held = first.filter((i) => i.status === 'queued')
    expect(held).toHaveLength(12 - CAP)
    for (const i of held) expect(i).toMatchObject({ attempts: 0, sentAt: null, lastError: null, nextAttemptAt: new Date(Math.min(...sentAts) + HOUR).toISOString() })

    // Another organization is not held up by the first one's queue.
    const other = await t.newOrg(`other-${Date.now()}`)
    const globex = await Promise.all(Array.from({ length: 3 }, (_, i) => create(t, `user${i}@globex.test`, other.token)))
    await eventually(() => to('globex.test').length === 3, 20_000, 'the other organization\'s emails')
    await eventually(async () => (await Promise.all(globex.map((id) => invitation(other.orgId, id)))).every((i) => i.status === 'sent'), 20_000, 'its invitations sent')
    expect(to('acme.test')).toHaveLength(CAP)
    expect((await Promise.all(acme.map((id) => invitation(t.orgId, id)))).filter((i) => i.status === 'queued')).toHaveLength(12 - CAP)

    // An hour on, the window has room for five more: a cap of five an hour sends five, and the
    // last two wait for the next hour (the first window's sends are out of it; the second's are not).
    offset += HOUR + 60_000
    await eventually(() => to('acme.test').length === 2 * CAP, 20_000, 'five more emails')
    await eventually(async () => {
      const all = await Promise.all(acme.map((id) => invitation(t.orgId, id)))
      return all.filter((i) => i.status === 'sent').length === 2 * CAP && all.filter((i) => i.status === 'queued').every((i) => Date.parse(i.nextAttemptAt ?? '') >= Date.now() + offset + HOUR / 2)
    }, 20_000, 'ten sent and two held')
    expect((await Promise.all(acme.map((id) => invitation(t.orgId, id)))).filter((i) => i.status === 'queued')).toHaveLength(12 - 2 * CAP)
    expect(to('acme.test')).toHaveLength(2 * CAP)

    offset += HOUR + 60_000
    await eventually(() => to('acme.test').length === 12, 20_000, 'the last two emails')
    await eventually(async () => (await Promise.all(acme.map((id) => invitation(t.orgId, id)))).every((i) => i.status === 'sent'), 20_000, 'all twelve sent')
    expect(new Set(to('acme.test'))).toEqual(new Set(acme.map((_, i) => `user${i}@acme.test`)))
    expect(mail.received).toHaveLength(15)
    expect((await Promise.all(acme.map((id) => invitation(t.orgId, id)))).map((i) => i.attempts)).toEqual(acme.map(() => 1))
  })

  it('an invitation the cap held for days still gets its three days of retries from its first failure, then gives up', async () => {
    // The mail server answers 451 (transient, RFC 5321 §4.2.1) to every recipient while `down`.
    let down = false
    const mail = await startSmtp({ refuse: () => (down ? { code: 451, text: 'Try again later' } : null) })
    cleanups.push(() => mail.close())
    let offset = 0
    const t = await startApp(factory, {}, { now: () => new Date(Date.now() + offset), mailer: mailer(mail) })
    cleanups.push(() => t.close())
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const get = apiGet(t, () => key)
    const invitation = async (id: string) => (await get<Invitation>(`/orgs/${t.orgId}/users/${id}/invitation`)).json

    const ids = await Promise.all(Array.from({ length: CAP + 1 }, (_, i) => create(t, `held${i}@acme.test`)))
    await eventually(async () => (await Promise.all(ids.map(invitation))).filter((i) => i.status === 'sent').length === CAP, 20_000, 'five sent')
    const heldId = (await Promise.all(ids.map(async (id) => ({ id, inv: await invitation(id) })))).find((x) => x.inv.status === 'queued')?.id ?? ''
    expect(heldId).not.toBe('')

    // Four days on (the cap held it that long, as it holds an organization's 72,001st user at the
    // default cap), its first try meets a mail server that is down: retried, not given up.
    down = true
    offset += 4 * 24 * HOUR
    await eventually(async () => (await invitation(heldId)).attempts >= 2, 20_000, 'failed tries of the held invitation')
    expect(await invitation(heldId)).toMatchObject({ status: 'queued', sentAt: null, lastError: expect.stringContaining('451') })
    down = false
    await eventually(async () => (await invitation(heldId)).status === 'sent', 20_000, 'sent once the server is back')

    // A user created now, with the server down: retried until three days after its first failure, then failed.
    down = true
    const late = await create(t, 'late@acme.test')
    await eventually(async () => (await invitation(late)).attempts >= 2, 20_000, 'failed tries')
    expect((await invitation(late)).status).toBe('queued')
    offset += 3 * 24 * HOUR + 60_000
    await eventually(async () => (await invitation(late)).status === 'failed', 20_000, 'given up three days after its first failure')
    expect((await invitation(late)).lastError).toMatch(/^gave up after \d+ attempts: .*451/)
  })

  it('two mailers on one database share the cap: five emails of twelve, the rest held', async () => {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    const t = await startApp(factory, {}, { mailer: mailer(mail) })
    cleanups.push(() => t.close())
    const second = new Mailer({ store: t.store, now: t.deps.now, newId: t.deps.newId, ...mailer(mail) })
    second.start()
    cleanups.push(() => second.stop())
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const get = apiGet(t, () => key)
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => create(t, `shared${i}@acme.test`)))
    await eventually(async () => {
      const all = await Promise.all(ids.map(async (id) => (await get<Invitation>(`/orgs/${t.orgId}/users/${id}/invitation`)).json))
      return all.filter((i) => i.status === 'sent').length === CAP && all.filter((i) => i.status === 'queued' && Date.parse(i.nextAttemptAt ?? '') >= Date.now() + HOUR / 2).length === 12 - CAP
    }, 20_000, 'five sent and seven held')
    expect(mail.received).toHaveLength(CAP)
    expect(await t.store.invitations.hasDue(Date.now())).toBe(false)
  })
})
