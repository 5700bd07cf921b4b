// Where an invitation goes when the organization lists email domains (docs/policies.md, "Where the
// invitation goes"), through the real server on each store with a real SMTP server: the mailer
// does not check the domains, so with `outsideDomains: allow` a user outside them is invited at
// that address; with `refuse` (the default) one outside them is refused 400 and no email goes,
// and a user with no primary email whose first email is a personal one (never checked) is
// invited at that personal address.
import { afterEach, describe, expect, it } from 'vitest'
import { smtpTransport } from '../../src/mail/transport.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiCall } from '../helpers/api-client.ts'
import { startApp, user } from '../helpers/app.ts'
import { startSmtp } from '../helpers/smtp-server.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

describe.each(storeMatrix())('the invitation\'s address and the organization\'s domains on $name', (factory: StoreFactory) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('invites outside the domains with outsideDomains allow; with refuse, refuses such a user and invites at an unchecked first email', async () => {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    const t = await startApp(factory, {}, {
      mailer: {
        transport: smtpTransport(mail.url, { timeoutMs: 2_000 }), inviteUrl: 'https://app.example.test/accept?token={token}', productName: 'Acme Cloud',
        from: 'Acme Cloud <no-reply@acme.test>', ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50,
      },
    })
    cleanups.push(() => t.close())
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const settings = (body: unknown) => apiCall(t, 'PATCH', `/orgs/${t.orgId}/settings`, key, body)
    expect((await settings({ domainAdd: ['acme.test'], outsideDomains: 'allow' })).status).toBe(200)

    const outside = await t.req('POST', '/Users', user('ada@elsewhere.test'))
    expect(outside.status).toBe(201)
    await eventually(() => mail.received.length === 1, 20_000, 'the invitation outside the domains')
    expect(mail.received[0]?.to).toEqual(['ada@elsewhere.test'])

    expect((await settings({ outsideDomains: 'refuse' })).status).toBe(200)
    const refused = await t.req('POST', '/Users', user('grace@elsewhere.test'))
    expect(refused.status).toBe(400)
    expect(refused.json.scimType).toBe('invalidValue')
    // Inside by its userName, with one personal email and no primary: the personal address is the one invited.
    const home = await t.req('POST', '/Users', user('barbara@acme.test', { emails: [{ value: 'barbara@home.test', type: 'home' }] }))
    expect(home.status).toBe(201)
    await eventually(() => mail.received.length === 2, 20_000, 'the invitation at the personal address')
    expect(mail.received.map((m) => m.to)).toEqual([['ada@elsewhere.test'], ['barbara@home.test']])
  })
})
