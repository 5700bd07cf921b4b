// An identity provider (or whoever holds its token) creating thousands of users with addresses in
// and out of the organization's domains while invitations are on (docs/architecture.md IDN-8;
// OWASP API Security Top 10 2023, API6 "Unrestricted Access to Sensitive Business Flows"): every
// create outside the domains is refused 400 invalidValue and invites nobody, every one inside is
// 201, and the emails that go out are all to the organization's domains and no more than
// ROSTER_INVITATIONS_PER_HOUR (the rest wait, queued, for the next hour: invitations-cap.test.ts). Through the real server
// on each store, with a real SMTP server. FLOOD_CREATES sets the number of creates (default 2,000
// a store in `npm test`; the catalogue's 10,000 by hand).
import { afterEach, describe, expect, it } from 'vitest'
import { smtpTransport } from '../../src/mail/transport.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiCall, apiGet } from '../helpers/api-client.ts'
import { startApp, user } from '../helpers/app.ts'
import { startSmtp } from '../helpers/smtp-server.ts'
import { storeMatrix, type StoreFactory } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { call } from '../helpers/spawned-server.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

const CREATES = Number(process.env.FLOOD_CREATES ?? 2_000)
const CAP = 50

/** A userName for create `i`: inside the domains (one in two), or outside in one of several ways. */
function address(i: number): { userName: string; inside: boolean } {
  switch (i % 6) {
    case 0: case 2: return { userName: `in${i}@acme.test`, inside: true }
    case 4: return { userName: `sub${i}@eu.acme.test`, inside: true }
    case 1: return { userName: `out${i}@elsewhere.test`, inside: false }
    case 3: return { userName: `look${i}@acme.test.evil.example`, inside: false }
    default: return { userName: `free${i}@gmail.com`, inside: false }
  }
}

describe.each(storeMatrix())('a flood of creates with invitations on, on $name', (factory: StoreFactory) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it(`${CREATES} creates in and out of the domains: the outside ones refused and never invited, at most the hour's cap of emails, all inside`, async () => {
    const mail = await startSmtp()
    cleanups.push(() => mail.close())
    const t = await startApp(factory, {}, {
      mailer: {
        transport: smtpTransport(mail.url, { timeoutMs: 2_000 }), inviteUrl: 'https://app.example.test/accept?token={token}', productName: 'Acme Cloud',
        from: 'Acme Cloud <no-reply@acme.test>', ttlDays: 7, intervalMs: 50, sweepIntervalMs: 50, perOrgPerHour: CAP,
      },
    })
    cleanups.push(() => t.close())
    const root = await listening(t)
    const key = (await createApiKey(t.deps, { name: 'app', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const settings = await apiCall(t, 'PATCH', `/orgs/${t.orgId}/settings`, key, { domainAdd: ['acme.test'], outsideDomains: 'refuse', subdomains: true })
    expect(settings.status, settings.text).toBe(200)

    const statuses = new Map<number, number>()
    const wrong: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < CREATES) {
        const i = next++
        const a = address(i)
        const r = await call(`${root}/scim/v2`, 'POST', '/Users', t.token, user(a.userName))
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        if (a.inside ? r.status !== 201 : r.status !== 400 || r.json.scimType !== 'invalidValue') wrong.push(`${a.userName}: ${r.status} ${r.text.slice(0, 200)}`)
      }
    }))
    expect(wrong.slice(0, 10)).toEqual([])
    const inside = Array.from({ length: CREATES }, (_, i) => address(i)).filter((a) => a.inside).length

    // The hour's cap goes out; every other inside user's invitation waits for the next hour.
    await eventually(() => mail.received.length >= CAP, 60_000, 'the hour\'s emails')
    const get = apiGet(t, () => key)
    await eventually(async () => {
      const r = await get<{ data: unknown[] }>(`/orgs/${t.orgId}/events?types=user.invited&limit=1000`)
      return r.json.data.length >= CAP
    }, 20_000, 'user.invited for each email')
    // A moment more: nothing beyond the cap may follow.
    await new Promise((r) => setTimeout(r, 500))
    const to = mail.received.flatMap((m) => m.to)
    console.log(`[flood] ${factory.name}: ${CREATES} creates, ${JSON.stringify(Object.fromEntries(statuses))}; ${to.length} emails of ${inside} invitations (cap ${CAP} an hour)`)
    expect(to).toHaveLength(CAP)
    expect(to.filter((a) => !/@(eu\.)?acme\.test$/.test(a))).toEqual([])
    expect(new Set(to).size).toBe(CAP)
    // Every user inside exists; none outside does.
    const all = await call(`${root}/scim/v2`, 'GET', '/Users?count=1', t.token)
    expect(all.json.totalResults).toBe(inside)
    const outside = await call(`${root}/scim/v2`, 'GET', `/Users?filter=${encodeURIComponent('userName co "elsewhere" or userName co "evil" or userName co "gmail"')}`, t.token)
    expect(outside.json.totalResults).toBe(0)
  }, 180_000)
})
