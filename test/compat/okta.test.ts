// Okta against the real server, with the requests of "Okta and SCIM Version 2.0"
// (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20), User-Agent included.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type Res, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const UA = { 'user-agent': 'Okta SCIM Client 1.0.0' }
const q = encodeURIComponent

describe.each(storeMatrix())('Okta on $name', (factory) => {
  let t: TestApp
  const okta = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<Res> => t.req(method, path, body, { headers: UA })
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('user lifecycle: connector test, lookup, create, read, PUT profile update, deactivate and reactivate by PATCH', async () => {
    // "Test the connector configuration" (SCIM 1.1 page: the query parameters are constant).
    expect((await okta('GET', '/Users?startIndex=1&count=2')).status).toBe(200)
    expect((await okta('GET', '/Groups?startIndex=1&count=100')).status).toBe(200)

    const n = randomUUID().slice(0, 8)
    const userName = `test.user.${n}@okta.local`
    const lookup = await okta('GET', `/Users?filter=${q(`userName eq "${userName}"`)}&startIndex=1&count=100`)
    expect(lookup.status).toBe(200)
    expect(lookup.json).toMatchObject({ totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] })

    const created = await okta('POST', '/Users', {
      schemas: [USER], userName, name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Test User', locale: 'en-US',
      externalId: `00ujl29u0le5T6Aj10h7${n}`, groups: [], password: '1mz050nq', active: true,
    })
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    expect(created.json).toMatchObject({ userName, displayName: 'Test User', locale: 'en-US', active: true, name: { givenName: 'Test', familyName: 'User' } })
    expect(created.json.password).toBeUndefined()

    // Okta's lookup is by userName, case-insensitively, with paging parameters.
    const found = await okta('GET', `/Users?filter=${q(`userName eq "${userName.toUpperCase()}"`)}&startIndex=1&count=100`)
    expect(found.json).toMatchObject({ totalResults: 1, Resources: [{ id }] })
    expect(typeof found.json.totalResults).toBe('number')

    // Update: GET, then PUT the whole user back with the change ("Update a specific User (PUT)").
    const got = await okta('GET', `/Users/${id}`)
    const put = await okta('PUT', `/Users/${id}`, { ...got.json, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' }, groups: [], meta: { resourceType: 'User' } })
    expect(put.status).toBe(200)
    expect(put.json).toMatchObject({ id, userName, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' } })
    // What PUT may not change is kept: id, created.
    expect(put.json.id).toBe(id)
    expect((put.json.meta as Record<string, unknown>).created).toBe((created.json.meta as Record<string, unknown>).created)

    // Deactivate and reactivate ("Update a specific User (PATCH)").
    const off = await okta('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] })
    expect(off.status).toBe(200)
    expect(off.json).toMatchObject({ id, active: false, name: { givenName: 'Another' } })
    const on = await okta('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: true } }] })
    expect(on.json.active).toBe(true)
    // Custom (AIW) integrations deactivate by PUT.
    const putOff = await okta('PUT', `/Users/${id}`, { ...on.json, active: false })
    expect(putOff.json.active).toBe(false)
    // Okta does not DELETE users; a deactivated user is still found.
    expect((await okta('GET', `/Users?filter=${q(`userName eq "${userName}"`)}&startIndex=1&count=100`)).json.totalResults).toBe(1)
  })

  it('409 on a duplicate create, naming the existing user, so the next lookup converges', async () => {
    const userName = `dup.${randomUUID()}@okta.local`
    const a = await okta('POST', '/Users', { schemas: [USER], userName, active: true })
    const b = await okta('POST', '/Users', { schemas: [USER], userName: userName.toUpperCase(), active: true })
    expect(b.status).toBe(409)
    expect(b.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' })
    expect(String(b.json.detail)).toContain(String(a.json.id))
  })

  it('group push: create, rename by path-less replace with id, add and remove members, replace all, PUT, delete', async () => {
    const users: string[] = []
    for (const i of [1, 2, 3]) users.push(String((await okta('POST', '/Users', { schemas: [USER], userName: `push${i}.${randomUUID()}@okta.local`, active: true })).json.id))
    const name = `Test SCIMv2 ${randomUUID()}`
    const created = await okta('POST', '/Groups', { schemas: [GROUP], displayName: name, members: [] })
    expect(created.status).toBe(201)
    const gid = String(created.json.id)
    expect(created.json).toMatchObject({ id: gid, displayName: name })

    const renamed = await okta('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { id: gid, displayName: `${name}0` } }] })
    expect([200, 204]).toContain(renamed.status)
    expect((await okta('GET', `/Groups/${gid}`)).json.displayName).toBe(`${name}0`)

    const addRemove = await okta('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [
      { op: 'remove', path: `members[value eq "${users[2]}"]` },
      { op: 'add', path: 'members', value: [{ value: users[0], display: 'test.user@okta.local' }, { value: users[1], display: 'x' }] },
    ] })
    expect([200, 204]).toContain(addRemove.status)
    const members = async () => ((await okta('GET', `/Groups/${gid}`)).json.members as { value: string }[] | undefined ?? []).map((m) => m.value).sort()
    expect(await members()).toEqual([users[0], users[1]].sort())
    expect((await okta('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${users[0]}"]` }] })).status).toBe(204)
    expect(await members()).toEqual([users[1]])

    // A full push of the membership with replace.
    await okta('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'members', value: [{ value: users[0], display: 'a' }, { value: users[2], display: 'c' }] }] })
    expect(await members()).toEqual([users[0], users[2]].sort())

    // Custom (AIW) integrations update groups by PUT.
    const put = await okta('PUT', `/Groups/${gid}`, { schemas: [GROUP], id: gid, displayName: `${name} renamed`, members: [{ value: users[1], display: 'b' }] })
    expect(put.status).toBe(200)
    expect(await members()).toEqual([users[1]])

    // A duplicate push names the group that holds the name.
    const dup = await okta('POST', '/Groups', { schemas: [GROUP], displayName: `${name} RENAMED`, members: [] })
    expect(dup.status).toBe(409)
    expect(String(dup.json.detail)).toContain(gid)

    expect((await okta('DELETE', `/Groups/${gid}`)).status).toBe(204)
    expect((await okta('GET', `/Groups/${gid}`)).status).toBe(404)
  })

  it('imports page by page with startIndex and count, in a stable order', async () => {
    for (let i = 0; i < 5; i++) await okta('POST', '/Users', { schemas: [USER], userName: `page${i}.${randomUUID()}@okta.local`, active: true })
    const all = await okta('GET', '/Users?startIndex=1&count=100')
    const total = Number(all.json.totalResults)
    const ids: string[] = []
    for (let start = 1; start <= total; start += 2) {
      const page = await okta('GET', `/Users?startIndex=${start}&count=2`)
      expect(page.json).toMatchObject({ startIndex: start, totalResults: total })
      ids.push(...(page.json.Resources ?? []).map((r) => String(r.id)))
    }
    expect(ids).toEqual((all.json.Resources ?? []).map((r) => String(r.id)))
  })
})
