// An organization's settings and email domains through the real HTTP server, on each store:
// GET and PATCH /api/v1/orgs/{org}/settings (each refusal a 400 naming the value, with nothing
// written: the settings, the audit log and the event feed unchanged), domain normalization
// (IDNA to punycode, wildcards and consumer domains), the claims of other organizations, DNS
// verification through a fake resolver (pending → failed → verified, the other organization's
// claim superseded and that organization told in its own audit log and feed), the audit log, and
// SCIM writes refused outside the domains with the exact status and body, the data unchanged.
// Sources: RFC 7644 §3.12 (the error document, 400 invalidValue); RFC 1035 §3.3.14 (TXT
// records); the WHATWG URL Standard's "domain to ASCII" (punycode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TxtResolver } from '../../src/orgs/domains.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall, apiGet, type FeedEvent, FeedReader, typesOf } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

type Json = Record<string, unknown>
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

interface DomainState { domain: string; state: string; checkedAt: string | null; verifiedAt: string | null; detail: string | null; record?: { name: string; value: string } }
interface Settings extends Json {
  orgId: string; name: string; domains: string[]; domainStates: DomainState[]; sendInvitations: boolean; outsideDomains: string; subdomains: boolean
  deprovision: string; deleteAfterDays: number; adoptExisting: boolean; scimOwnedFields: string[]
}
interface AuditEntry { id: string; at: string; actor: string; action: string; details: Json }

/**
 * DNS as the tests publish it: TXT records by name, or an error code by name; an unknown name is
 * NXDOMAIN (ENOTFOUND), as node:dns reports it.
 */
function fakeDns(): { records: Map<string, string[][]>; errors: Map<string, string>; resolver: TxtResolver; lookups: string[] } {
  const records = new Map<string, string[][]>()
  const errors = new Map<string, string>()
  const lookups: string[] = []
  const resolver: TxtResolver = async (name) => {
    lookups.push(name)
    const r = records.get(name)
    const code = errors.get(name) ?? (r ? null : 'ENOTFOUND')
    if (code !== null) throw Object.assign(new Error(`queryTxt ${code} ${name}`), { code })
    return r ?? []
  }
  return { records, errors, resolver, lookups }
}

describe.each(storeMatrix())('organization settings on $name', (factory) => {
  let t: TestApp
  const dns = fakeDns()
  let n = 0
  /** A domain no other test uses (claims are across organizations of one database). */
  const fresh = (label: string) => `${label}-${++n}.com`

  const call = (method: 'GET' | 'PATCH' | 'POST', path: string, key: string, body?: unknown) => apiCall(t, method, path, key, body)

  interface Org { id: OrgId; name: string; token: string; key: string; feed: FeedReader }
  const newOrg = async (label: string, scopes: string[] = ['*']): Promise<Org> => {
    const name = `${label}-${++n}`
    const o = await t.newOrg(name)
    const key = (await createApiKey(t.deps, { name: `${name}-key`, orgId: o.orgId, scopes, expiresAt: null })).key
    return { id: o.orgId, name, token: o.token, key, feed: new FeedReader(apiGet(t, () => key), o.orgId) }
  }
  const settingsOf = async (o: Org) => {
    const r = await call('GET', `/orgs/${o.id}/settings`, o.key)
    expect(r.status, r.text).toBe(200)
    return r.json as Settings
  }
  const patch = (o: Org, body: unknown) => call('PATCH', `/orgs/${o.id}/settings`, o.key, body)
  const verify = (o: Org, domain: string) => call('POST', `/orgs/${o.id}/domains/${encodeURIComponent(domain)}/verify`, o.key)
  const auditOf = async (o: Org) => {
    const r = await call('GET', `/orgs/${o.id}/audit`, o.key)
    expect(r.status, r.text).toBe(200)
    return (r.json as { data: AuditEntry[] }).data
  }
  /** The feed up to and including the next organization.updated event (so that nothing before it is still to come). */
  const untilOrgUpdate = async (o: Org): Promise<FeedEvent[]> => {
    const out: FeedEvent[] = []
    const deadline = Date.now() + 10_000
    while (!out.some((e) => e.type === 'organization.updated') && Date.now() < deadline) out.push(...(await o.feed.take(1, { timeoutMs: 2_000 })))
    return out
  }
  const scim = (o: Org, method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => t.req(method, path, body, { token: o.token })

  beforeAll(async () => {
    t = await startApp(factory, {}, { txtResolver: dns.resolver })
  })
  afterAll(async () => t.close())

  it('GET shows the defaults; PATCH changes settings and domains in one audit entry and one organization.updated event, and GET shows them', async () => {
    const o = await newOrg('set')
    const before = await settingsOf(o)
    expect(before).toEqual({
      orgId: o.id, name: o.name, domains: [], domainStates: [], sendInvitations: true, outsideDomains: 'refuse', subdomains: false,
      deprovision: 'delete', deleteAfterDays: 30, adoptExisting: false,
      scimOwnedFields: ['userName', 'externalId', 'name', 'displayName', 'emails', 'phoneNumbers', 'title', 'active', 'addresses', 'enterprise'],
      strictAttributes: false, attributeMapping: {}, version: 0,
    })
    const domain = fresh('acme')
    const r = await patch(o, { domainAdd: [domain], sendInvitations: false, deprovision: 'suspend', deleteAfterDays: 7, scimOwnedFields: ['userName', 'emails'] })
    expect(r.status, r.text).toBe(200)
    const after = await settingsOf(o)
    expect(r.json).toEqual(after)
    expect(after).toMatchObject({
      version: 1, domains: [domain], sendInvitations: false, deprovision: 'suspend', deleteAfterDays: 7, scimOwnedFields: ['userName', 'emails'],
      domainStates: [{ domain, state: 'unverified', checkedAt: null, verifiedAt: null, detail: null }],
    })

    const audit = await auditOf(o)
    expect(audit).toHaveLength(1)
    const keyId = (await t.store.listApiKeys()).find((k) => k.name === `${o.name}-key`)?.id
    expect(audit[0]).toMatchObject({
      actor: `api-key:${keyId}`, action: 'organization.settings_changed',
      details: {
        changes: ['domains', 'sendInvitations', 'deprovision', 'deleteAfterDays', 'scimOwnedFields'],
        before: { domains: [], sendInvitations: true, deprovision: 'delete', deleteAfterDays: 30, scimOwnedFields: before.scimOwnedFields },
        after: { domains: [domain], sendInvitations: false, deprovision: 'suspend', deleteAfterDays: 7, scimOwnedFields: ['userName', 'emails'] },
        domainsAdded: [domain],
      },
    })
    expect(Date.parse(audit[0]?.at ?? '')).toBeGreaterThan(Date.now() - 60_000)

    const events = await untilOrgUpdate(o)
    expect(typesOf(events)).toEqual(['organization.updated'])
    expect(events[0]?.data).toEqual({ ...after, changes: ['domains', 'sendInvitations', 'deprovision', 'deleteAfterDays', 'scimOwnedFields'] })

    // The same values again, and a domain that is listed already, change nothing and write nothing.
    const same = await patch(o, { domainAdd: [domain.toUpperCase()], sendInvitations: false })
    expect(same.status).toBe(200)
    expect(same.json).toEqual(after)
    expect(await auditOf(o)).toHaveLength(1)
    // Removing it is one more entry, and one more event at the next version.
    expect((await patch(o, { domainRemove: [domain] })).json).toMatchObject({ domains: [], domainStates: [], version: 2 })
    expect((await auditOf(o)).map((e) => e.details.domainsRemoved)).toEqual([[domain], undefined])
    const versions = async () => (await t.store.readEvents(o.id, 0, 100, ['organization.updated'])).map((e) => (JSON.parse(e.payload) as { data: { version: number } }).data.version)
    for (let i = 0; i < 100 && (await versions()).length < 2; i++) await new Promise((r) => setTimeout(r, 20))
    // Each event carries the settings' version after its change: a consumer keeps the highest.
    expect(await versions()).toEqual([1, 2])
  })

  it('each invalid value is a 400 naming it and its value, and nothing is written: the settings, the audit log and the feed are unchanged', async () => {
    const o = await newOrg('bad')
    const before = await settingsOf(o)
    const cases: [Json, string, string][] = [
      [{ sendInvitations: 'maybe' }, 'sendInvitations', '"maybe"'],
      [{ outsideDomains: 'sometimes' }, 'outsideDomains', '"sometimes"'],
      [{ subdomains: 'often' }, 'subdomains', '"often"'],
      [{ deprovision: 'archive' }, 'deprovision', '"archive"'],
      [{ deleteAfterDays: -1 }, 'deleteAfterDays', '-1'],
      [{ deleteAfterDays: 99_999 }, 'deleteAfterDays', '99999'],
      [{ deleteAfterDays: 1.5 }, 'deleteAfterDays', '1.5'],
      [{ scimOwnedFields: ['password'] }, 'scimOwnedFields', 'password'],
      [{ sendInvitation: false }, 'sendInvitation', 'is not a setting'],
      [{ domainAdd: ['*.acme.com'] }, 'domainAdd', '"*.acme.com" is a wildcard'],
      [{ domainAdd: ['not a domain'] }, 'domainAdd', '"not a domain"'],
      [{ domainAdd: ['10.0.0.1'] }, 'domainAdd', '"10.0.0.1" is an IP address'],
      [{ domainAdd: ['localhost'] }, 'domainAdd', '"localhost" is a single label'],
      [{ domainAdd: ['gmail.com'] }, 'domainAdd', '"gmail.com" is a consumer mailbox provider'],
      [{ domainAdd: ['x.com'], domainRemove: ['X.com'] }, 'domainRemove', 'x.com is both added and removed'],
      // A valid change beside an invalid one: all or nothing.
      [{ sendInvitations: false, domainAdd: [fresh('ok'), '-bad-.com'] }, 'domainAdd', '"-bad-.com"'],
      [{ adoptExisting: true, deleteAfterDays: 'ten' }, 'deleteAfterDays', '"ten"'],
    ]
    for (const [body, field, value] of cases) {
      const r = await patch(o, body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.json.error).toBe('invalid_parameter')
      expect(String(r.json.message), JSON.stringify(body)).toMatch(new RegExp(`^${field}\\b`))
      expect(String(r.json.message), JSON.stringify(body)).toContain(value)
    }
    expect(await settingsOf(o)).toEqual(before)
    expect(await auditOf(o)).toEqual([])
    // The feed holds nothing before this organization's next change.
    expect((await patch(o, { subdomains: true })).status).toBe(200)
    const events = await untilOrgUpdate(o)
    expect(typesOf(events)).toEqual(['organization.updated'])
    expect(events[0]?.data.changes).toEqual(['subdomains'])
  })

  it('a consumer domain is refused, then accepted with force; IDNA input is stored as punycode, lower case, without its final dot', async () => {
    const o = await newOrg('norm')
    const refused = await patch(o, { domainAdd: ['GMail.com'] })
    expect(refused.status).toBe(400)
    expect(refused.json.message).toContain('Send "force": true')
    const forced = await patch(o, { domainAdd: ['GMail.com'], force: true })
    expect(forced.status, forced.text).toBe(200)
    expect(forced.json.domains).toEqual(['gmail.com'])
    const label = `bücher-${++n}`
    const idn = await patch(o, { domainAdd: [`${label.toUpperCase()}.Example.`] })
    expect(idn.status, idn.text).toBe(200)
    const puny = new URL(`http://${label}.example`).hostname
    expect(puny).toMatch(/^xn--/)
    expect((await settingsOf(o)).domains).toEqual(['gmail.com', puny].sort())
    expect((await auditOf(o))[1]?.details).toMatchObject({ domainsAdded: ['gmail.com'], force: true })
  })

  it("another organization's verified domain is refused (409, without naming it); an unverified one unless the operator allows shared domains", async () => {
    const holder = await newOrg('holder')
    const other = await newOrg('other')
    const verified = fresh('verified')
    const listed = fresh('listed')
    expect((await patch(holder, { domainAdd: [listed] })).status).toBe(200)
    // The holder verifies `verified` by DNS.
    const started = await verify(holder, verified)
    const record = (started.json as unknown as DomainState).record
    expect(record?.name).toBe(`_roster-verification.${verified}`)
    dns.records.set(record?.name ?? '', [[record?.value ?? '']])
    expect((await verify(holder, verified)).json.state).toBe('verified')

    const before = await settingsOf(other)
    const r1 = await patch(other, { domainAdd: [verified], sendInvitations: false })
    expect(r1.status).toBe(409)
    expect(r1.json.error).toBe('domain_claimed')
    expect(r1.json.message).toContain(`${verified} is verified by another organization`)
    const r2 = await patch(other, { domainAdd: [listed] })
    expect(r2.status).toBe(409)
    expect(r2.json.error).toBe('domain_claimed')
    expect(r2.json.message).toContain(`${listed} is already listed by another organization`)
    expect(r2.json.message).toContain('Verify the domain by DNS')
    expect(r2.json.message).toContain('ROSTER_SHARED_DOMAINS=1')
    for (const r of [r1, r2]) {
      expect(r.text).not.toContain(holder.name)
      expect(r.text).not.toContain(holder.id)
    }
    // Nothing was written: not even the valid setting beside the refused domain.
    expect(await settingsOf(other)).toEqual(before)
    expect(await auditOf(other)).toEqual([])
    // An organization that verified a domain cannot have it taken by DNS either.
    const again = await verify(other, verified)
    expect(again.status).toBe(409)
    expect(again.json.error).toBe('domain_claimed')
  })

  it('two organizations claiming one new domain at the same moment: exactly one gets it (PostgreSQL locks the domain per transaction)', async () => {
    for (let round = 0; round < 5; round++) {
      const orgs = await Promise.all([newOrg('race'), newOrg('race'), newOrg('race'), newOrg('race')])
      const domain = fresh('contested')
      const answers = await Promise.all(orgs.map((o) => patch(o, { domainAdd: [domain] })))
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409])
      const holders = (await Promise.all(orgs.map(settingsOf))).filter((s) => s.domains.includes(domain))
      expect(holders).toHaveLength(1)
    }
  })

  it('with shared domains allowed, two organizations may list one domain unverified, never a verified one', async () => {
    const shared = await startApp(factory, {}, { txtResolver: dns.resolver, sharedDomains: true })
    try {
      const keyOf = async (orgId: OrgId) => (await createApiKey(shared.deps, { name: 'k', orgId, scopes: ['org:admin'], expiresAt: null })).key
      const a = await shared.newOrg('a')
      const b = await shared.newOrg('b')
      const [ka, kb] = [await keyOf(a.orgId), await keyOf(b.orgId)]
      const req = async (orgId: OrgId, key: string, body: unknown) => {
        const r = await shared.app.inject({ method: 'PATCH', url: `/api/v1/orgs/${orgId}/settings`, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) })
        return { status: r.statusCode, json: JSON.parse(r.body) as Json }
      }
      expect((await req(a.orgId, ka, { domainAdd: ['shared.com'] })).status).toBe(200)
      expect((await req(b.orgId, kb, { domainAdd: ['shared.com'] })).status).toBe(200)
      expect((await shared.store.getOrg(b.orgId))?.domains).toEqual(['shared.com'])
      // A verifies it: B's claim is superseded, and a third organization cannot add it, shared or not.
      const verifyA = () => shared.app.inject({ method: 'POST', url: `/api/v1/orgs/${a.orgId}/domains/shared.com/verify`, headers: { authorization: `Bearer ${ka}` } })
      const rec = (JSON.parse((await verifyA()).body) as DomainState).record
      dns.records.set(rec?.name ?? '', [[rec?.value ?? '']])
      expect(JSON.parse((await verifyA()).body)).toMatchObject({ state: 'verified' })
      expect((await shared.store.getOrg(b.orgId))?.domainRecords.map((d) => d.state)).toEqual(['superseded'])
      const c = await shared.newOrg('c')
      const refused = await req(c.orgId, await keyOf(c.orgId), { domainAdd: ['shared.com'] })
      expect(refused).toMatchObject({ status: 409, json: { error: 'domain_claimed' } })
    } finally {
      await shared.close()
    }
  })

  it('verification: pending with the record to publish, failed with the reason, then verified; the other organization is superseded and told in its own audit log and feed', async () => {
    const prover = await newOrg('prover')
    const loser = await newOrg('loser')
    const domain = fresh('proven')
    expect((await patch(loser, { domainAdd: [domain] })).status).toBe(200)
    await untilOrgUpdate(loser)
    // The loser lists it: the prover cannot add it, but can claim it by DNS.
    expect((await patch(prover, { domainAdd: [domain] })).status).toBe(409)

    const lookupsBefore = dns.lookups.length
    const pending = await verify(prover, domain)
    expect(pending.status, pending.text).toBe(200)
    const state = pending.json as unknown as DomainState
    // The loser listed it first: the prover's claim counts only once verified, and its detail says so.
    expect(state).toMatchObject({ domain, state: 'pending', checkedAt: null, verifiedAt: null, detail: expect.stringContaining(`Another organization listed ${domain} before this one`) })
    expect(state.record).toEqual({ name: `_roster-verification.${domain}`, value: expect.stringMatching(/^roster-verification=[A-Za-z0-9_-]{22}$/) })
    expect(dns.lookups.length).toBe(lookupsBefore) // the first call looks nothing up
    expect((await settingsOf(prover)).domainStates).toEqual([{ ...state }])

    const failed = await verify(prover, domain)
    expect(failed.status).toBe(200)
    expect(failed.json).toMatchObject({ domain, state: 'failed', verifiedAt: null, record: state.record })
    expect(failed.json.detail).toBe(
      `No TXT record named _roster-verification.${domain} was found. Add a TXT record named _roster-verification.${domain} with the value ${state.record?.value}, ` +
      'then try again (a new record can take a while to appear in DNS). ' +
      `Another organization listed ${domain} before this one: the domain counts for this organization's email-domain policy ` +
      'only once this verification succeeds, and until then a SCIM write with an address there is refused.',
    )
    expect(failed.json.checkedAt).toEqual(expect.any(String))

    dns.records.set(`_roster-verification.${domain}`, [['roster-verification=', (state.record?.value ?? '').slice('roster-verification='.length)]])
    const verified = await verify(prover, domain)
    expect(verified.status).toBe(200)
    expect(verified.json).toMatchObject({ domain, state: 'verified', detail: null, verifiedAt: expect.any(String), checkedAt: expect.any(String) })
    expect(verified.json).not.toHaveProperty('record')
    // Verified stays verified without another lookup.
    const lookups = dns.lookups.length
    expect((await verify(prover, domain)).json.state).toBe('verified')
    expect(dns.lookups.length).toBe(lookups)

    expect((await auditOf(prover)).map((e) => [e.actor.startsWith('api-key:'), e.action, (e.details.after as Json).state])).toEqual([
      [true, 'organization.domain_verification', 'verified'],
      [true, 'organization.domain_verification', 'failed'],
      [true, 'organization.domain_verification', 'pending'],
    ])
    const proverEvents = await prover.feed.take(3)
    expect(typesOf(proverEvents)).toEqual(['organization.updated', 'organization.updated', 'organization.updated'])
    expect(proverEvents.map((e) => e.data.changes)).toEqual([['domains', 'domainStates'], ['domainStates'], ['domainStates']])

    // The loser is told: its claim is superseded, in its settings, its audit log and its feed.
    const lost = (await settingsOf(loser)).domainStates[0]
    expect(lost).toMatchObject({ domain, state: 'superseded' })
    expect(lost?.detail).toContain(`Another organization verified ${domain} by DNS on ${String(verified.json.verifiedAt).slice(0, 10)}`)
    expect(lost?.detail).not.toContain(prover.name)
    const [entry] = await auditOf(loser)
    expect(entry).toMatchObject({ actor: 'system', action: 'organization.domain_superseded', details: { domain, before: { state: 'unverified' }, after: { state: 'superseded' } } })
    const loserEvents = await untilOrgUpdate(loser)
    expect(typesOf(loserEvents)).toEqual(['organization.updated'])
    expect(loserEvents[0]?.data).toMatchObject({ orgId: loser.id, changes: ['domainStates'], domainStates: [{ domain, state: 'superseded' }] })
    // A superseded domain no longer counts for the loser's policy, and it loosens nothing: the loser,
    // whose only domain it was, refuses every address (the winner's too) until its admin changes its domains.
    for (const address of [`anyone@elsewhere-${n}.org`, `someone@${domain}`]) {
      const refused = await scim(loser, 'POST', '/Users', user(address))
      expect(refused.status).toBe(400)
      expect(refused.json).toMatchObject({ scimType: 'invalidValue', detail: expect.stringContaining(`${domain} was verified by another organization`) })
    }
    // Nobody else may add it now.
    const third = await newOrg('third')
    expect((await patch(third, { domainAdd: [domain] })).json.error).toBe('domain_claimed')
  })

  it('a wrong TXT value fails with what was found; resolver errors fail with the code', async () => {
    const o = await newOrg('wrong')
    const domain = fresh('wrong')
    const started = (await verify(o, domain)).json as unknown as DomainState
    dns.records.set(`_roster-verification.${domain}`, [['roster-verification=not-it']])
    const r = await verify(o, domain)
    expect(r.json).toMatchObject({ state: 'failed', record: started.record })
    expect(r.json.detail).toContain('reads "roster-verification=not-it"')
    const broken = await newOrg('broken')
    const b = fresh('servfail')
    await verify(broken, b)
    dns.errors.set(`_roster-verification.${b}`, 'ESERVFAIL')
    const s = await verify(broken, b)
    expect(s.json.state).toBe('failed')
    expect(s.json.detail).toBe(`The DNS lookup of the TXT records at _roster-verification.${b} failed (ESERVFAIL); try again in a few minutes.`)
  })

  it('scopes: directory:read reads, directory:write or org:admin changes, another scope is 403 naming them, another organization is 404', async () => {
    const o = await newOrg('scopes')
    const other = await newOrg('elsewhere')
    const keyWith = async (scopes: string[]) => (await createApiKey(t.deps, { name: 'scoped', orgId: o.id, scopes, expiresAt: null })).key
    const reader = await keyWith(['directory:read'])
    const writer = await keyWith(['directory:write'])
    const admin = await keyWith(['org:admin'])
    const events = await keyWith(['events:read'])
    expect((await call('GET', `/orgs/${o.id}/settings`, reader)).status).toBe(200)
    const denied = await call('PATCH', `/orgs/${o.id}/settings`, reader, { subdomains: true })
    expect(denied.status).toBe(403)
    expect(denied.json).toEqual({ error: 'insufficient_scope', message: expect.stringContaining('"directory:write" or "org:admin"') })
    expect((await call('GET', `/orgs/${o.id}/settings`, events)).json.message).toContain('"directory:read" or "org:admin"')
    expect((await call('GET', `/orgs/${o.id}/audit`, reader)).status).toBe(403)
    expect((await call('POST', `/orgs/${o.id}/domains/x.com/verify`, reader)).status).toBe(403)
    expect((await call('PATCH', `/orgs/${o.id}/settings`, writer, { subdomains: true })).status).toBe(200)
    expect((await call('PATCH', `/orgs/${o.id}/settings`, admin, { subdomains: false })).status).toBe(200)
    expect((await call('GET', `/orgs/${o.id}/audit`, admin)).status).toBe(200)

    const missing = await call('GET', '/orgs/no-such-org/settings', admin)
    expect(missing.status).toBe(404)
    for (const [method, path, body] of [
      ['GET', 'settings', undefined], ['PATCH', 'settings', { subdomains: true }], ['POST', 'domains/x.com/verify', undefined], ['GET', 'audit', undefined],
    ] as const) {
      const r = await call(method, `/orgs/${other.id}/${path}`, admin, body)
      expect(r.status, `${method} ${path}`).toBe(404)
      expect(r.json).toEqual(missing.json)
    }
    expect((await settingsOf(other)).subdomains).toBe(false)
    expect(await auditOf(other)).toEqual([])
  })

  it('the audit log is paged newest first with who, when and what', async () => {
    const o = await newOrg('paged')
    for (const days of [1, 2, 3]) expect((await patch(o, { deleteAfterDays: days })).status).toBe(200)
    const first = await call('GET', `/orgs/${o.id}/audit?limit=2`, o.key)
    const page1 = first.json as { data: AuditEntry[]; nextCursor: string | null }
    expect(page1.data.map((e) => (e.details.after as Json).deleteAfterDays)).toEqual([3, 2])
    expect(page1.nextCursor).toEqual(expect.any(String))
    const page2 = (await call('GET', `/orgs/${o.id}/audit?limit=2&cursor=${page1.nextCursor}`, o.key)).json as { data: AuditEntry[]; nextCursor: string | null }
    expect(page2.data.map((e) => e.details)).toEqual([{ changes: ['deleteAfterDays'], before: { deleteAfterDays: 30 }, after: { deleteAfterDays: 1 } }])
    expect(page2.nextCursor).toBeNull()
    expect((await call('GET', `/orgs/${o.id}/audit?cursor=!!`, o.key)).status).toBe(400)
  })

  describe('SCIM writes outside the domains', () => {
    const expectRefusal = (r: { status: number; json: Json; headers: Record<string, unknown> }, detail: string) => {
      expect(r.status).toBe(400)
      expect(String(r.headers['content-type'])).toContain('application/scim+json')
      expect(r.json).toEqual({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail })
    }
    const outside = (values: string, domains: string, sub = false) =>
      `${values} ${values.includes(', ') ? 'are' : 'is'} outside the organization's email domains${sub ? ' (and their subdomains)' : ''}: ${domains}. ` +
      'Provision users with an address in one of these domains, or ask the organization admin to add the domain.'
    const filter = (userName: string) => `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`

    it('a create whose userName is outside is refused with the exact body and nothing is written; one inside is created', async () => {
      const o = await newOrg('scim')
      const domain = fresh('inside')
      expect((await patch(o, { domainAdd: [domain] })).status).toBe(200)
      await untilOrgUpdate(o)
      const r = await scim(o, 'POST', '/Users', user('bob@outside.org'))
      expectRefusal(r, outside('"bob@outside.org"', domain))
      expect((await scim(o, 'GET', filter('bob@outside.org'))).json.totalResults).toBe(0)
      // A work email outside, with a userName that is not an email address.
      const work = await scim(o, 'POST', '/Users', user('carol', { emails: [{ value: 'carol@outside.org', type: 'work' }] }))
      expectRefusal(work, outside('"carol@outside.org"', domain))
      // Inside: created, and a personal `home` email outside is accepted.
      const ok = await scim(o, 'POST', '/Users', user(`dave@${domain.toUpperCase()}`, {
        emails: [{ value: `dave@${domain}`, type: 'work', primary: true }, { value: 'dave@gmail.com', type: 'home' }],
      }))
      expect(ok.status, ok.text).toBe(201)
      // The feed: the created user, never the refused ones.
      expect((await patch(o, { subdomains: true })).status).toBe(200)
      const events = await untilOrgUpdate(o)
      expect(typesOf(events)).toEqual(['user.created', 'organization.updated'])
      expect(events[0]?.data.userName).toBe(`dave@${domain.toUpperCase()}`)
    })

    it('a PATCH adding an outside work email is refused and the user is unchanged (same version and ETag)', async () => {
      const o = await newOrg('patch')
      const domain = fresh('home')
      expect((await patch(o, { domainAdd: [domain] })).status).toBe(200)
      const created = await scim(o, 'POST', '/Users', user(`erin@${domain}`))
      expect(created.status).toBe(201)
      const id = String(created.json.id)
      const before = await scim(o, 'GET', `/Users/${id}`)
      const r = await scim(o, 'PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'erin@outside.org', type: 'work' }] }))
      expectRefusal(r, outside('"erin@outside.org"', domain))
      const after = await scim(o, 'GET', `/Users/${id}`)
      expect(after.headers.etag).toBe(before.headers.etag)
      expect(after.json).toEqual(before.json)
      // A home email outside is a change like any other.
      const home = await scim(o, 'PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'erin@outside.org', type: 'home' }] }))
      expect(home.status, home.text).toBe(200)
    })

    it('subdomains count only when the organization says so; outsideDomains allow accepts anything', async () => {
      const o = await newOrg('sub')
      const domain = fresh('parent')
      expect((await patch(o, { domainAdd: [domain] })).status).toBe(200)
      const eu = `frank@eu.${domain}`
      expectRefusal(await scim(o, 'POST', '/Users', user(eu)), outside(`"${eu}"`, domain))
      expect((await scim(o, 'GET', filter(eu))).json.totalResults).toBe(0)
      expect((await patch(o, { subdomains: true })).status).toBe(200)
      expect((await scim(o, 'POST', '/Users', user(eu))).status).toBe(201)
      expectRefusal(await scim(o, 'POST', '/Users', user(`gina@not${domain}`)), outside(`"gina@not${domain}"`, domain, true))
      expect((await patch(o, { outsideDomains: 'allow' })).status).toBe(200)
      expect((await scim(o, 'POST', '/Users', user(`gina@not${domain}`))).status).toBe(201)
    })
  })
})
