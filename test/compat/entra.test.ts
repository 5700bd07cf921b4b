// Microsoft Entra ID against the real server, with the request bodies of its documentation:
// [TUTORIAL] "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
//   learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// [KNOWN] "Known issues and resolutions with SCIM 2.0 protocol compliance",
//   learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility
// Each sequence runs on the tenant URL without the flag and with ?aadOptscim062020.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type Res, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const UA = { 'user-agent': 'Microsoft Azure AD SCIM provisioning 1.0.0' }
const q = encodeURIComponent

describe.each(storeMatrix())('Entra ID on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  describe.each([
    { flag: 'without aadOptscim062020', qs: '' },
    { flag: 'with aadOptscim062020', qs: 'aadOptscim062020' },
  ])('$flag', ({ qs }) => {
    // Entra ID keeps the tenant URL's query on every request.
    const url = (path: string, query = '') => `${path}?${[qs, query].filter(Boolean).join('&')}`
    const entra = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, query = ''): Promise<Res> =>
      t.req(method, url(path, query), body, { headers: UA })

    it('user lifecycle: Test Connection, create, read, query, update each kind, disable, enable, delete', async () => {
      // Test Connection: a query on a random GUID expects 200 and an empty ListResponse.
      const probe = await entra('GET', '/Users', undefined, `filter=${q(`userName eq "${randomUUID()}"`)}`)
      expect(probe.status).toBe(200)
      expect(probe.json).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] })

      // [TUTORIAL] Create User, verbatim but for unique values.
      const n = randomUUID()
      const created = await entra('POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
        externalId: `ext-${n}`,
        userName: `Test_User_${n}`,
        active: true,
        emails: [{ primary: true, type: 'work', value: `Test_User_${n}@testuser.com` }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      })
      expect(created.status).toBe(201)
      const id = String(created.json.id)
      expect(created.json).toMatchObject({ externalId: `ext-${n}`, userName: `Test_User_${n}`, active: true, emails: [{ value: `Test_User_${n}@testuser.com`, type: 'work', primary: true }] })

      expect((await entra('GET', `/Users/${id}`)).json).toMatchObject({ id, userName: `Test_User_${n}` })
      const byName = await entra('GET', '/Users', undefined, `filter=${q(`userName eq "Test_User_${n}"`)}`)
      expect(byName.json).toMatchObject({ totalResults: 1, Resources: [{ id }] })
      // [TUTORIAL] Example 1 writes the value unquoted: externalId eq jyoung.
      const byExternal = await entra('GET', '/Users', undefined, `filter=${q(`externalId eq ext-${n}`)}`)
      expect(byExternal.json).toMatchObject({ totalResults: 1, Resources: [{ id }] })
      const byWorkEmail = await entra('GET', '/Users', undefined, `filter=${q(`emails[type eq "work"].value eq "Test_User_${n}@testuser.com"`)}`)
      expect(byWorkEmail.json).toMatchObject({ totalResults: 1 })

      // [TUTORIAL] Update User [Multi-valued properties] and [Single-valued properties].
      const multi = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: `updated_${n}@microsoft.com` },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ] })
      expect(multi.status).toBe(200)
      expect(multi.json).toMatchObject({ emails: [{ value: `updated_${n}@microsoft.com`, type: 'work', primary: true }], name: { familyName: 'updatedFamilyName', givenName: 'givenName' } })
      const single = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'userName', value: `${n}@testuser.com` }] })
      expect(single.json.userName).toBe(`${n}@testuser.com`)

      // [KNOWN] "Requests to add a single-value string attribute", both spellings.
      expect((await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'nickName', value: 'Babs' }] })).json.nickName).toBe('Babs')
      expect((await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'nickName', value: 'Babs2' }] })).json.nickName).toBe('Babs2')

      // [KNOWN] "Requests to replace multiple attributes", both spellings.
      const old = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [
        { op: 'Replace', path: 'displayName', value: 'Pvlo' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: `TestBcwqnm_${n}@test.microsoft.com` },
        { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
        { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
        { op: 'Replace', path: 'externalId', value: `Eqpj_${n}` },
        { op: 'Replace', path: `${ENT}:employeeNumber`, value: 'Eqpj' },
      ] })
      expect(old.status).toBe(200)
      expect(old.json).toMatchObject({ displayName: 'Pvlo', externalId: `Eqpj_${n}`, name: { givenName: 'Gtfd', familyName: 'Pkqf' }, [ENT]: { employeeNumber: 'Eqpj' } })
      const flagged = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [
        { op: 'replace', path: 'emails[type eq "work"].value', value: `TestMhvaes_${n}@test.microsoft.com` },
        { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENT}:employeeNumber`]: 'Aklq' } },
      ] })
      expect(flagged.json).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' }, emails: [{ value: `TestMhvaes_${n}@test.microsoft.com` }], [ENT]: { employeeNumber: 'Aklq' } })

      // Manager: [TUTORIAL] Example 5 (bare path, one-element array), then the bare-id string.
      const mgr = await entra('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `mgr_${n}`, active: true })
      const mgrId = String(mgr.json.id)
      const m1 = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'manager', value: [{ $ref: `http://x/scim/Users/${mgrId}`, value: mgrId }] }] })
      expect(m1.status).toBe(200)
      expect((m1.json[ENT] as Record<string, unknown>).manager).toMatchObject({ value: mgrId })
      const m2 = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: `${ENT}:manager`, value: 'other-manager' }] })
      expect((m2.json[ENT] as Record<string, unknown>).manager).toEqual({ value: 'other-manager' })
      const m3 = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: `${ENT}:manager`, value: [{ value: 'other-manager' }] }] })
      expect((m3.json[ENT] as Record<string, unknown>).manager).toBeUndefined()

      // Soft delete: [KNOWN] "Requests made to disable users", both spellings; the user stays
      // visible to queries ([TUTORIAL]: "returned whether or not the user is active").
      const off = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })
      expect(off.status).toBe(200)
      expect(off.json.active).toBe(false)
      expect((await entra('GET', '/Users', undefined, `filter=${q(`userName eq "${n}@testuser.com"`)}`)).json).toMatchObject({ totalResults: 1, Resources: [{ id, active: false }] })
      expect((await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] })).json.active).toBe(true)
      expect((await entra('PATCH', `/Users/${id}`, { Operations: [{ op: 'Replace', path: 'active', value: false }], schemas: [PATCH] })).json.active).toBe(false)

      // Then hard delete ([TUTORIAL] Delete User).
      expect((await entra('DELETE', `/Users/${id}`)).status).toBe(204)
      expect((await entra('GET', `/Users/${id}`)).status).toBe(404)
      expect((await entra('DELETE', `/Users/${mgrId}`)).status).toBe(204)
    })

    it('group lifecycle: probe, create, read without members, rename, add members, remove them in each shape, delete', async () => {
      const probe = await entra('GET', '/Groups', undefined, `excludedAttributes=members&filter=${q(`displayName eq "${randomUUID()}"`)}`)
      expect(probe.status).toBe(200)
      expect(probe.json).toMatchObject({ totalResults: 0, Resources: [] })

      const n = randomUUID()
      const users: string[] = []
      for (const i of [1, 2, 3]) users.push(String((await entra('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `member${i}_${n}`, active: true })).json.id))

      // [TUTORIAL] Create Group, with Entra's ADSCIM schema URN and meta.
      const created = await entra('POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
        externalId: `g-${n}`,
        displayName: `displayName ${n}`,
        meta: { resourceType: 'Group' },
      })
      expect(created.status).toBe(201)
      const gid = String(created.json.id)
      expect(created.json).toMatchObject({ externalId: `g-${n}`, displayName: `displayName ${n}` })

      const get = await entra('GET', `/Groups/${gid}`, undefined, 'excludedAttributes=members')
      expect(get.status).toBe(200)
      expect(get.json.members).toBeUndefined()
      const byName = await entra('GET', '/Groups', undefined, `excludedAttributes=members&filter=${q(`displayName eq "displayName ${n}"`)}`)
      expect(byName.json).toMatchObject({ totalResults: 1, Resources: [{ id: gid }] })
      expect(byName.json.Resources?.[0]?.members).toBeUndefined()

      // [TUTORIAL] Update Group [Non-member attributes], [Add Members], [Remove Members]: 204.
      const renamed = await entra('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'displayName', value: `${n}updatedDisplayName` }] })
      expect(renamed.status).toBe(204)
      const add = await entra('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: users.map((value) => ({ $ref: null, value })) }] })
      expect(add.status).toBe(204)
      // Without the flag: a value list removes those members only, never the whole group.
      const rm1 = await entra('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[0] }] }] })
      expect(rm1.status).toBe(204)
      // With the flag ([KNOWN] "Requests to remove a group member").
      const rm2 = await entra('PATCH', `/Groups/${gid}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: `members[value eq "${users[1]}"]` }] })
      expect(rm2.status).toBe(204)
      const after = await entra('GET', `/Groups/${gid}`)
      expect(after.json.displayName).toBe(`${n}updatedDisplayName`)
      expect((after.json.members as { value: string }[]).map((m) => m.value)).toEqual([users[2]])
      // Entra ID asks whether a user is a member with a filter on members.
      const isMember = await entra('GET', '/Groups', undefined, `excludedAttributes=members&filter=${q(`id eq "${gid}" and members eq "${users[2]}"`)}`)
      expect(isMember.json.totalResults).toBe(1)

      expect((await entra('DELETE', `/Groups/${gid}`)).status).toBe(204)
      expect((await entra('GET', `/Groups/${gid}`)).status).toBe(404)
      for (const u of users) await entra('DELETE', `/Users/${u}`)
    })

    it('re-provisioning after a lost answer: the retry gets 409 naming the user, and the lookups find it', async () => {
      const n = randomUUID()
      const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], externalId: `lost-${n}`, userName: `lost_${n}@contoso.com`, active: true }
      const first = await entra('POST', '/Users', body)
      expect(first.status).toBe(201)
      const retry = await entra('POST', '/Users', body)
      expect(retry.status).toBe(409)
      expect(retry.json.scimType).toBe('uniqueness')
      expect(String(retry.json.detail)).toContain(String(first.json.id))
      for (const f of [`userName eq "LOST_${n}@contoso.com"`, `externalId eq "lost-${n}"`]) {
        expect((await entra('GET', '/Users', undefined, `filter=${q(f)}`)).json).toMatchObject({ totalResults: 1, Resources: [{ id: first.json.id }] })
      }
      const g = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `lost group ${n}` }
      const g1 = await entra('POST', '/Groups', g)
      const g2 = await entra('POST', '/Groups', g)
      expect(g2.status).toBe(409)
      expect(String(g2.json.detail)).toContain(String(g1.json.id))
    })

    it('Replace through a filter matching nothing adds the value, and manager filters find the reports (issue 14)', async () => {
      const n = randomUUID()
      const boss = String((await entra('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `boss_${n}` })).json.id)
      const u = await entra('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT], userName: `report_${n}`, [ENT]: { manager: boss } })
      const id = String(u.json.id)
      // Microsoft Q&A 120490 and 1373350: Entra ID sends Add or Replace for a value not there yet.
      const r = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '1 Main St' }] })
      expect(r.status, r.text).toBe(200)
      expect(r.json.addresses).toEqual([{ type: 'work', formatted: '1 Main St' }])
      for (const f of [`manager eq "${boss}"`, `manager.value eq "${boss}"`, `${ENT}:manager eq "${boss}"`, `${ENT}:manager.value eq ${boss}`]) {
        const found = await entra('GET', '/Users', undefined, `filter=${q(f)}`)
        expect(found.json, f).toMatchObject({ totalResults: 1, Resources: [{ id }] })
      }
    })

    it('bad input still gets a SCIM 400 with the right scimType, never a 500', async () => {
      const u = await entra('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `bad_${randomUUID()}` })
      const id = String(u.json.id)
      const cases: [unknown, string][] = [
        [{ op: 'Replace', path: 'active', value: 'Maybe' }, 'invalidValue'],
        [{ op: 'Merge', path: 'title', value: 'x' }, 'invalidSyntax'],
        [{ op: 'Replace', path: 'emails[type eq "work"', value: 'x' }, 'invalidFilter'],
        // An undeclared attribute is accepted (docs/compatibility.md); a filter on one is not.
        [{ op: 'Replace', path: 'favouriteColour[type eq "x"]', value: 'x' }, 'invalidPath'],
        [{ op: 'Add', path: 'manager', value: [{ value: 'a' }, { value: 'b' }] }, 'invalidValue'],
        [{ op: 'Remove' }, 'noTarget'],
      ]
      for (const [op, scimType] of cases) {
        const r = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [op] })
        expect(r.status, JSON.stringify(op)).toBe(400)
        expect(r.json.scimType, JSON.stringify(op)).toBe(scimType)
      }
      const f = await entra('GET', '/Users', undefined, `filter=${q('userName eq bob and')}`)
      expect(f.status).toBe(400)
      expect(f.json.scimType).toBe('invalidFilter')
    })
  })
})
