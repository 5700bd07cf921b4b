// The email-domain policy when other organizations claim the same domain, through the server
// listening on a real port, on each store (docs/policies.md, "Verification and claims"):
// another organization's verification never loosens an organization's policy (a superseded
// domain is refused with a detail saying why, and an organization whose only domain is superseded
// refuses every address until its admin changes its domains); a verification started on a domain
// another organization listed first does not count until it succeeds, also after it failed; a
// SCIM PUT outside the domains is refused like a POST, with nothing written; and the refusal of a
// consumer domain tells an API caller about the API's "force" field, not the CLI's flag.
// Sources: RFC 7644 §3.12 (400 invalidValue), §3.5.1 (PUT); RFC 1035 §3.3.14 (TXT records).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TxtResolver } from '../../src/orgs/domains.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'

type Json = Record<string, unknown>
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'

interface Org { id: OrgId; token: string; key: string }

describe.each(storeMatrix())('domain claims and the email-domain policy on $name', (factory) => {
  let t: TestApp
  let base = ''
  const records = new Map<string, string[][]>()
  const resolver: TxtResolver = async (name) => {
    const r = records.get(name)
    if (!r) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
    return r
  }
  let n = 0
  const fresh = (label: string) => `${label}-${++n}.com`

  beforeAll(async () => {
    t = await startApp(factory, {}, { txtResolver: resolver })
    base = await listening(t)
  })
  afterAll(async () => {
    await t.close()
  })

  async function http(method: string, path: string, bearer: string, body?: unknown, type = 'application/json'): Promise<{ status: number; json: Json }> {
    const r = await fetch(`${base}${path}`, {
      method, headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': type }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await r.text()
    return { status: r.status, json: text ? (JSON.parse(text) as Json) : {} }
  }
  const api = (o: Org, method: string, path: string, body?: unknown) => http(method, `/api/v1${path}`, o.key, body)
  const scim = (o: Org, method: string, path: string, body?: unknown) => http(method, `/scim/v2${path}`, o.token, body, 'application/scim+json')
  const newOrg = async (label: string): Promise<Org> => {
    const o = await t.newOrg(`${label}-${++n}`)
    const key = (await createApiKey(t.deps, { name: `${label}-key`, orgId: o.orgId, scopes: ['*'], expiresAt: null })).key
    return { id: o.orgId, token: o.token, key }
  }
  const addDomains = async (o: Org, domains: string[]) => expect((await api(o, 'PATCH', `/orgs/${o.id}/settings`, { domainAdd: domains })).status).toBe(200)
  const verify = (o: Org, domain: string) => api(o, 'POST', `/orgs/${o.id}/domains/${domain}/verify`)
  /** Starts and completes a DNS verification of `domain` by `o`. */
  const prove = async (o: Org, domain: string) => {
    const started = await verify(o, domain)
    const record = started.json.record as { name: string; value: string }
    records.set(record.name, [[record.value]])
    expect((await verify(o, domain)).json).toMatchObject({ state: 'verified' })
  }
  const userCount = async (o: Org) => Number((await scim(o, 'GET', '/Users?count=0')).json.totalResults)
  const refusal = (detail: unknown) => ({ status: 400, json: { schemas: [ERROR], status: '400', scimType: 'invalidValue', detail } })

  it('an organization whose only domain another organization verified refuses every address, naming why, until its admin changes its domains', async () => {
    const loser = await newOrg('loser')
    const prover = await newOrg('prover')
    const domain = fresh('taken')
    await addDomains(loser, [domain])
    expect((await scim(loser, 'POST', '/Users', user(`before@${domain}`))).status).toBe(201)
    await prove(prover, domain)
    expect((await api(loser, 'GET', `/orgs/${loser.id}/settings`)).json.domainStates).toMatchObject([{ domain, state: 'superseded' }])

    // Neither the winner's domain nor any other: another organization's action loosened nothing.
    expect(await scim(loser, 'POST', '/Users', user(`ada@${domain}`))).toEqual(refusal(
      `"ada@${domain}" is refused: none of the organization's email domains counts now. ${domain} was verified by another organization, so it no longer counts for this one. ` +
      'The organization admin must change its domains before users can be provisioned.',
    ))
    const elsewhere = await scim(loser, 'POST', '/Users', user(`anyone@elsewhere-${n}.org`))
    expect(elsewhere).toMatchObject(refusal(expect.stringContaining(`"anyone@elsewhere-${n}.org" is refused: none of the organization's email domains counts now. ${domain} was verified by another organization`)))
    expect(await userCount(loser)).toBe(1)
    // The winner provisions its own domain.
    expect((await scim(prover, 'POST', '/Users', user(`ada@${domain}`))).status).toBe(201)

    // The admin removes the superseded domain: no domains, no policy.
    expect((await api(loser, 'PATCH', `/orgs/${loser.id}/settings`, { domainRemove: [domain] })).status).toBe(200)
    expect((await scim(loser, 'POST', '/Users', user(`anyone@elsewhere-${n}.org`))).status).toBe(201)
  })

  it('beside a domain that still counts, a superseded one is refused with the reason while the other is accepted', async () => {
    const loser = await newOrg('loser')
    const prover = await newOrg('prover')
    const [lost, kept] = [fresh('lost'), fresh('kept')]
    await addDomains(loser, [lost, kept])
    await prove(prover, lost)
    expect(await scim(loser, 'POST', '/Users', user(`bob@${lost}`))).toEqual(refusal(
      `"bob@${lost}" is outside the organization's email domains: ${kept}. ${lost} was verified by another organization, so it no longer counts for this one. ` +
      'Provision users with an address in one of these domains, or ask the organization admin to add the domain.',
    ))
    expect((await scim(loser, 'POST', '/Users', user(`bob@${kept}`))).status).toBe(201)
  })

  it('a verification started on a domain another organization listed first does not count while pending or after it failed, and the organization is told; once verified it wins', async () => {
    const first = await newOrg('first')
    const second = await newOrg('second')
    const domain = fresh('contested')
    await addDomains(first, [domain])
    await addDomains(second, [fresh('own')])

    const pending = await verify(second, domain)
    expect(pending.json).toMatchObject({ domain, state: 'pending', detail: expect.stringContaining(`Another organization listed ${domain} before this one`) })
    const refused = refusal(expect.stringContaining(`${domain} counts for this organization once its DNS verification succeeds: another organization listed it first.`))
    expect(await scim(second, 'POST', '/Users', user(`p@${domain}`))).toMatchObject(refused)

    const failed = await verify(second, domain)
    expect(failed.json).toMatchObject({ domain, state: 'failed' })
    expect(failed.json.detail).toContain(`No TXT record named _roster-verification.${domain} was found.`)
    expect(failed.json.detail).toContain(`Another organization listed ${domain} before this one`)
    expect((await api(second, 'GET', `/orgs/${second.id}/settings`)).json.domainStates).toContainEqual(expect.objectContaining({ domain, state: 'failed', detail: failed.json.detail }))
    const [entry] = (await api(second, 'GET', `/orgs/${second.id}/audit`)).json.data as Json[]
    expect(entry).toMatchObject({ action: 'organization.domain_verification', details: { domain, after: { state: 'failed', detail: failed.json.detail } } })
    // Still no second claim that counts: the failed one refuses, the first organization's accepts.
    expect(await scim(second, 'POST', '/Users', user(`f@${domain}`))).toMatchObject(refused)
    expect(await userCount(second)).toBe(0)
    expect((await scim(first, 'POST', '/Users', user(`f@${domain}`))).status).toBe(201)

    // The verified claim wins: the second organization now provisions the domain, the first no longer does.
    await prove(second, domain)
    expect((await scim(second, 'POST', '/Users', user(`v@${domain}`))).status).toBe(201)
    expect(await scim(first, 'POST', '/Users', user(`v@${domain}`))).toMatchObject(refusal(expect.stringContaining('was verified by another organization')))
  })

  it('a SCIM PUT with an email outside the domains is 400 invalidValue and writes nothing', async () => {
    const o = await newOrg('put')
    const domain = fresh('put')
    await addDomains(o, [domain])
    const created = await scim(o, 'POST', '/Users', user(`grace@${domain}`))
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    const put = await scim(o, 'PUT', `/Users/${id}`, user(`grace@${domain}`, { emails: [{ value: 'grace@other.org', type: 'work', primary: true }], title: 'Admiral' }))
    expect(put).toEqual(refusal(
      `"grace@other.org" is outside the organization's email domains: ${domain}. ` +
      'Provision users with an address in one of these domains, or ask the organization admin to add the domain.',
    ))
    const after = await scim(o, 'GET', `/Users/${id}`)
    expect(after.json).toMatchObject({ emails: [{ value: `grace@${domain}` }], meta: { version: created.json.meta && (created.json.meta as Json).version } })
    expect(after.json).not.toHaveProperty('title')
  })

  it('the refusal of a consumer domain names the API\'s "force" field to an API caller, never the CLI\'s flag', async () => {
    const o = await newOrg('consumer')
    const patched = await api(o, 'PATCH', `/orgs/${o.id}/settings`, { domainAdd: ['gmail.com'] })
    expect(patched.status).toBe(400)
    expect(patched.json.message).toContain('Send "force": true with the change to add it anyway.')
    expect(patched.json.message).not.toContain('--force')
    const verified = await verify(o, 'gmail.com')
    expect(verified.status).toBe(400)
    expect(verified.json.message).toContain('List it first with PATCH /api/v1/orgs/{org}/settings ("domainAdd" and "force": true), then verify it.')
    expect(verified.json.message).not.toContain('--force')
    expect((await api(o, 'PATCH', `/orgs/${o.id}/settings`, { domainAdd: ['gmail.com'], force: true })).status).toBe(200)
  })
})
