// Request shapes that identity providers and client libraries send and that RFC 7643/7644 leave
// open or that Roster once refused (issue 14, "Request shapes that still fail"), through the real
// HTTP app on each store. Sources are named beside each rule in docs/compatibility.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const q = (f: string) => encodeURIComponent(f)
const ids = (r: { json: { Resources?: Record<string, unknown>[] } }) => (r.json.Resources ?? []).map((x) => String(x.id))

describe.each(storeMatrix())('request shapes on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  const create = async (userName: string, extra: Record<string, unknown> = {}) => {
    const r = await t.req('POST', '/Users', user(userName, extra))
    expect(r.status, r.text).toBe(201)
    return String(r.json.id)
  }
  const notesOf = async (method: string, resourceId: string) => {
    await t.app.provisioningLog.flush()
    const rows = await t.store.listLog(t.orgId, { before: null, sinceId: null, status: null, statusClass: null, resourceId, limit: 100 })
    return rows.filter((r) => r.method === method).flatMap((r) => (r.notes ? (JSON.parse(r.notes) as string[]) : []))
  }

  it('PATCH replace through a value filter matching nothing adds the element (Entra ID)', async () => {
    const id = await create('no.work.address@example.com')
    const r = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '1 Main St' }))
    expect(r.status, r.text).toBe(200)
    expect(r.json.addresses).toEqual([{ type: 'work', formatted: '1 Main St' }])
    const again = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'addresses[type eq "work"].locality', value: 'Springfield' }))
    expect(again.json.addresses).toEqual([{ type: 'work', formatted: '1 Main St', locality: 'Springfield' }])
  })

  it('filters on the enterprise manager, with or without the URN and with or without .value', async () => {
    const boss = await create('the.boss@example.com')
    const report = await create('a.report@example.com', { [ENT]: { manager: { value: boss } } })
    await create('other.report@example.com', { [ENT]: { manager: { value: 'someone-else' } } })
    for (const f of [`manager eq "${boss}"`, `manager.value eq "${boss}"`, `${ENT}:manager eq "${boss}"`, `${ENT}:manager.value eq "${boss}"`]) {
      const r = await t.req('GET', `/Users?filter=${q(f)}`)
      expect(r.status, `${f}: ${r.text}`).toBe(200)
      expect(ids(r), f).toEqual([report])
    }
    const ne = await t.req('GET', `/Users?filter=${q(`manager ne "${boss}" and userName ew "report@example.com"`)}`)
    expect(ids(ne)).toHaveLength(1)
    // A bare name no extension declares stays unknown.
    expect((await t.req('GET', `/Users?filter=${q('shoeSize eq "9"')}`)).json.scimType).toBe('invalidFilter')
  })

  it('group members carry display on create, read and list; POST /Groups answers 201 with its members', async () => {
    const a = await create('member.a@example.com', { displayName: 'Member A' })
    const b = await create('member.b@example.com', { displayName: 'Member B' })
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Shapes', members: [{ value: a }, { value: b }] })
    expect(c.status).toBe(201)
    const want = [a, b].map((v, i) => ({ value: v, $ref: `https://roster.test/scim/v2/Users/${v}`, display: `Member ${'AB'[i] ?? ''}`, type: 'User' }))
    expect(c.json.members).toEqual(expect.arrayContaining(want))
    expect(c.json.members).toHaveLength(2)
    expect(c.headers.etag).toBe(c.json.meta && (c.json.meta as Record<string, unknown>).version)
    const list = await t.req('GET', `/Groups?filter=${q('displayName eq "Shapes"')}`)
    expect((list.json.Resources?.[0] as Record<string, unknown>).members).toEqual(expect.arrayContaining(want))
    // Without members, or asked not to show them, nothing is read back.
    const empty = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Empty shapes' })
    expect(empty.status).toBe(201)
    expect(empty.json.members).toBeUndefined()
    const hidden = await t.req('POST', '/Groups?excludedAttributes=members', { schemas: [GROUP], displayName: 'Hidden', members: [{ value: a }] })
    expect(hidden.status).toBe(201)
    expect(hidden.json.members).toBeUndefined()
  })

  it('attributes and excludedAttributes accept a value path as its attribute', async () => {
    const id = await create('projected@example.com', { emails: [{ value: 'w@example.com', type: 'work' }, { value: 'h@example.com', type: 'home' }] })
    const r = await t.req('GET', `/Users/${id}?attributes=${q('emails[type eq "work"],userName')}`)
    expect(r.status, r.text).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['emails', 'id', 'schemas', 'userName'])
    expect(r.json.emails).toHaveLength(2)
    const sub = await t.req('GET', `/Users/${id}?attributes=${q('emails[type eq "work"].value')}`)
    expect(sub.json.emails).toEqual([{ value: 'w@example.com' }, { value: 'h@example.com' }])
    const ex = await t.req('GET', `/Users?filter=${q(`id eq "${id}"`)}&excludedAttributes=${q('emails[type eq "work, home"]')}`)
    expect(ex.json.Resources?.[0]).not.toHaveProperty('emails')
    expect(ex.json.Resources?.[0]).toHaveProperty('userName')
    expect((await t.req('GET', `/Users/${id}?attributes=${q('emails[type eq ]')}`)).status).toBe(400)
  })

  it('unquoted filter values read as strings in any request, noted in the log; the rest of the grammar unchanged', async () => {
    const id = await create('unquoted@example.com', { name: { givenName: 'Una', familyName: 'Employee' }, externalId: '5f2b9c1e-0d6a-4c1e-9a57-3c9b2f0e7d11' })
    for (const f of ['name.familyName eq Employee', 'name.familyName eq Employee and active eq true', '(name.familyName eq Employee)', 'externalId eq 5f2b9c1e-0d6a-4c1e-9a57-3c9b2f0e7d11', 'emails[value eq unquoted@example.com]']) {
      const r = await t.req('GET', `/Users?filter=${q(f)}`, undefined, { headers: { 'user-agent': 'curl/8' } })
      expect(r.status, `${f}: ${r.text}`).toBe(200)
      expect(ids(r), f).toEqual([id])
    }
    const s = await t.req('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'name.familyName eq Employee' })
    expect(ids(s)).toEqual([id])
    // Ambiguous or malformed stays 400.
    for (const f of ['name.familyName eq Em ployee', 'name.familyName eq and', 'externalId eq 00042', 'name.familyName eq']) {
      expect((await t.req('GET', `/Users?filter=${q(f)}`)).json.scimType, f).toBe('invalidFilter')
    }
    await t.app.provisioningLog.flush()
    const rows = await t.store.listLog(t.orgId, { before: null, sinceId: null, status: 200, statusClass: null, resourceId: null, limit: 50 })
    expect(rows.some((r) => r.notes?.includes('filter value Employee read as the string \\"Employee\\"'))).toBe(true)
  })

  it('unquoted values in PATCH path filters read as strings, as in filter=, noted in the log; ambiguous ones stay 400', async () => {
    const id = await create('unquoted.patch@example.com', { emails: [{ value: 'w@example.com', type: 'work' }, { value: 'h@example.com', type: 'home' }] })
    const r = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq work].value', value: 'new.work@example.com' }), { headers: { 'user-agent': 'curl/8' } })
    expect(r.status, r.text).toBe(200)
    expect(r.json.emails).toEqual([{ value: 'new.work@example.com', type: 'work' }, { value: 'h@example.com', type: 'home' }])
    expect(await notesOf('PATCH', id)).toContain('filter value work read as the string "work"')
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Unquoted members', members: [{ value: id }] })
    expect(g.status, g.text).toBe(201)
    const gid = String(g.json.id)
    const rm = await t.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq ${id}]` }))
    expect(rm.status, rm.text).toBe(204)
    expect((await t.req('GET', `/Groups/${gid}`)).json.members).toBeUndefined()
    // In a Bulk operation too (the same use case).
    const bulk = await t.req('POST', '/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [{ method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: 'emails[type eq home].value', value: 'new.home@example.com' }) }],
    })
    expect(bulk.status, bulk.text).toBe(200)
    expect((bulk.json.Operations as { status: string }[])[0]?.status).toBe('200')
    expect((await t.req('GET', `/Users/${id}`)).json.emails).toEqual([{ value: 'new.work@example.com', type: 'work' }, { value: 'new.home@example.com', type: 'home' }])
    for (const path of ['emails[type eq work home].value', 'emails[type eq and].value', 'emails[type eq 00042].value']) {
      const bad = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path, value: 'x@example.com' }))
      expect(bad.status, path).toBe(400)
      expect(bad.json.scimType, path).toBe('invalidFilter')
    }
  })

  it('PATCH with an extension URN as the path adds, replaces and removes the extension object', async () => {
    const id = await create('ext.path@example.com', { [ENT]: { department: 'Sales', costCenter: 'CC-1' } })
    const add = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: ENT, value: { division: 'North' } }))
    expect(add.status, add.text).toBe(200)
    expect(add.json[ENT]).toEqual({ department: 'Sales', costCenter: 'CC-1', division: 'North' })
    const rep = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'Replace', path: ENT, value: { department: 'Engineering', manager: 'boss-id' } }))
    expect(rep.status, rep.text).toBe(200)
    expect(rep.json[ENT]).toEqual({ department: 'Engineering', manager: { value: 'boss-id' } })
    const rem = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'remove', path: ENT }))
    expect(rem.status).toBe(200)
    expect(rem.json).not.toHaveProperty(ENT)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: ENT, value: 'x' }))).json.scimType).toBe('invalidValue')
  })

  it('POST and PUT read core attributes nested under the core schema URN as top-level', async () => {
    const r = await t.req('POST', '/Users', { schemas: [USER, ENT], [USER]: { userName: 'nested@example.com', name: { givenName: 'Nes' }, active: true }, [ENT]: { department: 'D' } })
    expect(r.status, r.text).toBe(201)
    expect(r.json).toMatchObject({ userName: 'nested@example.com', name: { givenName: 'Nes' }, active: true, [ENT]: { department: 'D' } })
    expect(r.json).not.toHaveProperty(USER)
    const id = String(r.json.id)
    const put = await t.req('PUT', `/Users/${id}`, { schemas: [USER], [USER]: { userName: 'nested@example.com', displayName: 'Nested' } })
    expect(put.status, put.text).toBe(200)
    expect(put.json).toMatchObject({ userName: 'nested@example.com', displayName: 'Nested' })
    const dir = await t.store.directoryUser(t.orgId, 'id', id)
    expect(dir?.directory?.customAttributes ?? null).toBeNull()
    // The same name both ways is the usual duplicate.
    const dup = await t.req('POST', '/Users', { schemas: [USER], userName: 'dup@example.com', [USER]: { userName: 'dup@example.com' } })
    expect(dup.status).toBe(400)
    expect(dup.json.scimType).toBe('invalidSyntax')
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], [GROUP]: { displayName: 'Nested group' } })
    expect(g.status, g.text).toBe(201)
    expect(g.json.displayName).toBe('Nested group')
  })

  it('answers Content-Type application/scim+json without a charset, and takes application/json', async () => {
    const r = await t.req('GET', '/Users?count=1')
    expect(r.headers['content-type']).toBe('application/scim+json')
    const err = await t.req('GET', '/Users/nope')
    expect(err.status).toBe(404)
    expect(err.headers['content-type']).toBe('application/scim+json')
    expect((await t.req('GET', '/ServiceProviderConfig')).headers['content-type']).toBe('application/scim+json')
    const json = await t.req('POST', '/Users', user('plain.json@example.com'), { headers: { 'content-type': 'application/json' } })
    expect(json.status).toBe(201)
    expect(json.headers['content-type']).toBe('application/scim+json')
  })

  it('sortBy a multi-valued attribute sorts by its primary value, else the first', async () => {
    const tag = `sortmv${Date.now()}`
    const a = await create(`${tag}.a@example.com`, { emails: [{ value: 'zz@example.com', type: 'home' }, { value: 'AA@example.com', type: 'work', primary: true }] })
    const b = await create(`${tag}.b@example.com`, { emails: [{ value: 'mm@example.com', type: 'work' }, { value: 'bb@example.com', type: 'home' }] })
    const c = await create(`${tag}.c@example.com`, { emails: [{ value: 'cc@example.com', type: 'home' }, { value: 'yy@example.com', type: 'work', primary: true }] })
    const asc = await t.req('GET', `/Users?filter=${q(`userName sw "${tag}"`)}&sortBy=emails`)
    expect(asc.status, asc.text).toBe(200)
    expect(ids(asc)).toEqual([a, b, c])
    const desc = await t.req('GET', `/Users?filter=${q(`userName sw "${tag}"`)}&sortBy=emails.value&sortOrder=descending`)
    expect(ids(desc)).toEqual([c, b, a])
    const byType = await t.req('GET', `/Users?filter=${q(`userName sw "${tag}"`)}&sortBy=emails.type`)
    // primary's type: a work, b (first) work, c work; ties break by id, in creation order.
    expect(ids(byType)).toEqual([a, b, c])
  })

  it('an undeclared attribute is accepted the same way by POST and PATCH: kept for the application, not returned, noted', async () => {
    const id = await create('custom.attrs@example.com', { favouriteColour: 'green' })
    const p = await t.req('PATCH', `/Users/${id}`, patchOp(
      { op: 'add', path: 'badgeNumber', value: 'B-7' },
      { op: 'replace', value: { favouriteColour: 'blue' } },
      { op: 'add', path: 'urn:example:custom:2.0:User:costCentre', value: 'CC-9' },
    ))
    expect(p.status, p.text).toBe(200)
    expect(p.json).not.toHaveProperty('badgeNumber')
    expect(p.json).not.toHaveProperty('favouriteColour')
    const row = await t.store.directoryUser(t.orgId, 'id', id)
    expect(row?.directory?.customAttributes).toEqual({ favouriteColour: 'blue', badgeNumber: 'B-7', 'urn:example:custom:2.0:User': { costCentre: 'CC-9' } })
    const rm = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'remove', path: 'badgeNumber' }, { op: 'remove', path: 'name.nickname' }))
    expect(rm.status, rm.text).toBe(200)
    expect((await t.store.directoryUser(t.orgId, 'id', id))?.directory?.customAttributes).toEqual({ favouriteColour: 'blue', 'urn:example:custom:2.0:User': { costCentre: 'CC-9' } })
    expect(await notesOf('POST', id)).toContain('"favouriteColour" is not declared by the User schemas: kept as a custom attribute, not returned by SCIM')
    const patched = await notesOf('PATCH', id)
    expect(patched).toContain('"badgeNumber" is not declared by the User schemas: kept as a custom attribute, not returned by SCIM')
    expect(patched).toContain('"name.nickname" is not declared by the User schemas: ignored')
    // A group keeps none: accepted and ignored, as its create does.
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Custom group', colour: 'red' })
    expect(g.status).toBe(201)
    expect((await t.req('PATCH', `/Groups/${String(g.json.id)}`, patchOp({ op: 'add', path: 'colour', value: 'blue' }))).status).toBe(204)
    // A value filter needs a declared attribute.
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'badges[type eq "x"].value', value: 'y' }))).json.scimType).toBe('invalidPath')
  })
})
