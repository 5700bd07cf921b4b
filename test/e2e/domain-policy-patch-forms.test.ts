// The domain policy (docs/policies.md, "Email domains") through every request form that can move
// a user's userName or a checked email (primary or work) outside the organization's domains, on
// each store: PATCH without a path (a value object, RFC 7644 §3.5.2.3), with the path `userName`,
// `emails`, and a value-filter path (`emails[type eq "work"].value`, §3.5.2.1), Entra ID's
// capitalised `Replace` and `Add` (Microsoft Learn, "Known issues and resolutions with SCIM 2.0
// protocol compliance of the Microsoft Entra user provisioning service"), Okta's full update with
// PUT (Okta Developer, "SCIM 2.0 protocol reference": profile changes are a PUT of the whole user),
// an email kept but moved into a checked role (a personal one made work or primary), and Bulk
// (RFC 7644 §3.7). Each is refused with 400 invalidValue naming the value and the domains
// (§3.12), and nothing is applied: the same version and ETag, no event. A user already outside
// the domains (created before they were listed) can still be changed in other ways, PUT included,
// but not moved to another outside address.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type Res, type TestApp } from '../helpers/app.ts'
import { apiCall, apiGet, type FeedEvent, FeedReader, typesOf } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'

describe.each(storeMatrix())('domain policy through every PATCH form on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  /** A new organization with an API key, its feed, and SCIM requests with its token. */
  const newOrg = async () => {
    const o = await t.newOrg(`policy-${randomUUID()}`)
    const key = (await createApiKey(t.deps, { name: 'policy', orgId: o.orgId, scopes: ['*'], expiresAt: null })).key
    const feed = new FeedReader(apiGet(t, () => key), o.orgId)
    const settings = (body: unknown) => apiCall(t, 'PATCH', `/orgs/${o.orgId}/settings`, key, body)
    const scim = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) => t.req(method, path, body, { token: o.token })
    const create = async (userName: string, extra: Record<string, unknown> = {}): Promise<string> => {
      const r = await scim('POST', '/Users', user(userName, extra))
      expect(r.status, r.text).toBe(201)
      return String(r.json.id)
    }
    /** The feed up to two organization.updated events `settings` writes (nothing before them is still to come), without them. */
    const eventsUntilSettingsChange = async (): Promise<FeedEvent[]> => {
      expect((await settings({ sendInvitations: false })).status).toBe(200)
      expect((await settings({ sendInvitations: true })).status).toBe(200)
      const out: FeedEvent[] = []
      const deadline = Date.now() + 10_000
      while (out.filter((e) => e.type === 'organization.updated').length < 2 && Date.now() < deadline) out.push(...(await feed.take(1, { timeoutMs: 2_000 })))
      return out.filter((e) => e.type !== 'organization.updated')
    }
    return { settings, scim, create, eventsUntilSettingsChange }
  }
  const domain = `acme-${randomUUID().slice(0, 8)}.com`
  const outside = (values: string[], domains = domain) =>
    `${values.map((v) => `"${v}"`).join(', ')} ${values.length === 1 ? 'is' : 'are'} outside the organization's email domains: ${domains}. ` +
    'Provision users with an address in one of these domains, or ask the organization admin to add the domain.'
  const expectRefused = (r: Res | { status: string; response?: Record<string, unknown> }, values: string[], domains = domain) => {
    const body = 'json' in r ? r.json : r.response
    expect(String(r.status), JSON.stringify(body)).toBe('400')
    expect(body).toEqual({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: outside(values, domains) })
  }

  it('every PATCH form, a PUT and Bulk moving userName or a checked email outside are 400 invalidValue naming it, and change nothing', async () => {
    const { settings, scim, create, eventsUntilSettingsChange } = await newOrg()
    // Created while no domain is listed, so that the personal email outside is there to promote.
    const id = await create(`ada@${domain}`, {
      emails: [{ value: `ada@${domain}`, type: 'work', primary: true }, { value: 'ada@gmail.com', type: 'home' }],
    })
    expect((await settings({ domainAdd: [domain] })).status).toBe(200)
    await eventsUntilSettingsChange()
    const before = await scim('GET', `/Users/${id}`)
    const away = 'ada@outside.org'
    const work = (value: string, extra: Record<string, unknown> = {}) => [{ value, type: 'work', primary: true, ...extra }, { value: 'ada@gmail.com', type: 'home' }]

    const forms: [string, unknown, string[]][] = [
      ['path-less replace, userName', patchOp({ op: 'replace', value: { userName: away } }), [away]],
      ['path-less replace, emails', patchOp({ op: 'replace', value: { emails: work(away) } }), [away]],
      ['path-less replace, both', patchOp({ op: 'replace', value: { userName: 'ada@else.org', emails: work(away), title: 'Engineer' } }), ['ada@else.org', away]],
      ['path-less add, emails', patchOp({ op: 'add', value: { emails: [{ value: away, type: 'work' }] } }), [away]],
      ['replace path userName', patchOp({ op: 'replace', path: 'userName', value: away }), [away]],
      ['replace path emails', patchOp({ op: 'replace', path: 'emails', value: work(away) }), [away]],
      ['replace value-filter path', patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: away }), [away]],
      ['add path emails', patchOp({ op: 'add', path: 'emails', value: [{ value: away, type: 'work' }] }), [away]],
      ['add path emails, primary without a type', patchOp({ op: 'add', path: 'emails', value: [{ value: away, primary: true }] }), [away]],
      // Entra ID: capitalised operations, a value-filter path, and a path-less Replace.
      ['Entra Replace value-filter path', patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: away }), [away]],
      ['Entra Add value-filter path', patchOp({ op: 'Add', path: 'emails[type eq "work"].value', value: away }), [away]],
      ['Entra Replace userName', patchOp({ op: 'Replace', path: 'userName', value: away }), [away]],
      ['Entra Replace path-less', patchOp({ op: 'Replace', value: { userName: away, active: true } }), [away]],
      // Okta: a path-less replace of the profile's attributes in one value object.
      ['Okta path-less replace', patchOp({ op: 'replace', value: { userName: away, name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: work(away) } }), [away]],
      // The personal email outside, made work or primary: a value the user held, in a role that is checked now.
      ['home email made work', patchOp({ op: 'replace', path: 'emails[value eq "ada@gmail.com"].type', value: 'work' }), ['ada@gmail.com']],
      ['home email made primary', patchOp({ op: 'replace', path: 'emails[type eq "home"].primary', value: true }), ['ada@gmail.com']],
      // After an operation that is allowed: the request is refused whole.
      ['allowed change, then outside', patchOp({ op: 'replace', path: 'title', value: 'Engineer' }, { op: 'add', path: 'emails', value: [{ value: away, type: 'work' }] }), [away]],
    ]
    for (const [label, body, values] of forms) {
      const r = await scim('PATCH', `/Users/${id}`, body)
      expect(r.status, `${label}: ${r.text}`).toBe(400)
      expectRefused(r, values)
    }
    // Okta's full update (PUT), and one keeping the home email but making it primary.
    expectRefused(await scim('PUT', `/Users/${id}`, user(away, { emails: work(away) })), [away])
    expectRefused(await scim('PUT', `/Users/${id}`, user(`ada@${domain}`, { emails: [{ value: 'ada@gmail.com', type: 'home', primary: true }] })), ['ada@gmail.com'])

    // Bulk: each operation through its single request's use case, each refused on its own.
    const r = await scim('POST', '/Bulk', { schemas: [BULK], Operations: [
      { method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: away }) },
      { method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', value: { userName: away } }) },
      { method: 'PUT', path: `/Users/${id}`, data: user(away, { emails: work(away) }) },
      { method: 'POST', path: '/Users', bulkId: 'new', data: user('bea@outside.org') },
    ] })
    expect(r.status, r.text).toBe(200)
    const ops = (r.json.Operations ?? []) as { status: string; response?: Record<string, unknown> }[]
    expect(ops).toHaveLength(4)
    for (const [i, op] of ops.entries()) expectRefused(op, [i === 3 ? 'bea@outside.org' : away])

    // Nothing applied: the user as it was, and no event.
    const after = await scim('GET', `/Users/${id}`)
    expect(after.headers.etag).toBe(before.headers.etag)
    expect(after.json).toEqual(before.json)
    expect(await eventsUntilSettingsChange()).toEqual([])
    expect((await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "bea@outside.org"')}`)).json.totalResults).toBe(0)
    // The same forms inside the domains are applied.
    const inside = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: 'emails[type eq "work"].value', value: `ada.l@${domain}` }))
    expect(inside.status, inside.text).toBe(200)
  })

  it('a user already outside the domains: unrelated changes and a PUT of its same addresses are applied; another outside address is refused', async () => {
    const { settings, scim, create, eventsUntilSettingsChange } = await newOrg()
    const here = `here-${randomUUID().slice(0, 8)}.com`
    const legacy = `zed-${randomUUID().slice(0, 8)}@legacy.org`
    const id = await create(legacy, { emails: [{ value: legacy, type: 'work', primary: true }] })
    expect((await settings({ domainAdd: [here] })).status).toBe(200)
    await eventsUntilSettingsChange()
    // The identity provider changes what the domains do not govern: a path, Entra's path-less Replace, Okta's PUT.
    const title = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Manager' }))
    expect(title.status, title.text).toBe(200)
    const entra = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', value: { displayName: 'Zed', active: false } }))
    expect(entra.status, entra.text).toBe(200)
    const okta = await scim('PUT', `/Users/${id}`, user(legacy, { displayName: 'Zed Z', emails: [{ value: legacy, type: 'work', primary: true }] }))
    expect(okta.status, okta.text).toBe(200)
    // Another spelling of the address it holds (case, full width) is the same address.
    const spelled = legacy.toUpperCase().replace('Z', '\uff3a')
    const respelled = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { userName: spelled, emails: [{ value: spelled, type: 'work', primary: true }] } }))
    expect(respelled.status, respelled.text).toBe(200)
    const held = await scim('GET', `/Users/${id}`)
    // A move to another outside address is refused, and nothing changes.
    const elsewhere = legacy.replace('legacy.org', 'elsewhere.org')
    const r = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: elsewhere }))
    expect(r.json).toMatchObject({ status: '400', scimType: 'invalidValue' })
    expect(String(r.json.detail)).toContain(`"${elsewhere}" is outside the organization's email domains: ${here}.`)
    expect((await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'userName', value: elsewhere }))).status).toBe(400)
    const after = await scim('GET', `/Users/${id}`)
    expect(after.headers.etag).toBe(held.headers.etag)
    // The changes applied are the feed's, with the fields they changed; the refused ones none.
    const events = await eventsUntilSettingsChange()
    expect(typesOf(events)).toEqual(['user.updated', 'user.updated', 'user.deactivated', 'user.updated', 'user.reactivated', 'user.updated'])
    // Sorted: the order follows the stored body's keys, which PostgreSQL's jsonb reorders.
    expect(events.map((e) => e.data.changes?.attributes)).toEqual([['title'], ['active', 'displayName'], undefined, ['active', 'displayName', 'title'], undefined, ['emails', 'userName']])
    // Moved inside, it is held to the domains like any other user: back outside is refused.
    const moved = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { userName: `zed@${here}`, emails: [{ value: `zed@${here}`, type: 'work', primary: true }] } }))
    expect(moved.status, moved.text).toBe(200)
    const back = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: legacy }))
    expect(back.status, back.text).toBe(400)
  })
})
