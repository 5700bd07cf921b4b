// JumpCloud against the real server.
// [JC-CUSTOM] "Identity Management using a Custom SCIM Integration", jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-identity-management-integration:
//   the connector test creates a test user and a test group and deletes both (or deactivates the
//   user where DELETE is unsupported); groups are pushed with members ("Empty groups are not
//   created"), renamed, and deleted. JumpCloud does not document its request bodies: the shapes
//   below are RFC 7644's, plus the value-list member removal a vendor reports JumpCloud sends
//   (uni-moni.com "SSO setup: JumpCloud": "Azure AD-style value=[{value:uid}] without an RFC filter").
// [JC-ENTRA] JumpCloud's attribute table for Entra ID ("Configure Real-time SCIM User Provisioning from Entra ID", jumpcloud.com/support/configure-real-time-user-provisioning-from-azure-ad):
//   the attributes a directory must round-trip, with the names that table gives them.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { client, ENT, GROUP, groupLifecycle, PATCH, USER, userLifecycle } from './lifecycle.ts'

const UA = 'JumpCloud SCIM'

describe.each(storeMatrix())('JumpCloud on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('connector test: creates a test user and a test group, then deletes both [JC-CUSTOM]', async () => {
    const c = client(t, UA)
    const u = await c('POST', '/Users', { schemas: [USER], userName: `jc-test-${randomUUID()}@example.com`, name: { givenName: 'Test', familyName: 'User' }, emails: [{ value: 'test@example.com', type: 'work', primary: true }], active: true })
    expect(u.status).toBe(201)
    const g = await c('POST', '/Groups', { schemas: [GROUP], displayName: `JumpCloud test ${randomUUID()}`, members: [{ value: u.json.id }] })
    expect(g.status).toBe(201)
    expect((await c('DELETE', `/Groups/${String(g.json.id)}`)).status).toBe(204)
    expect((await c('DELETE', `/Users/${String(u.json.id)}`)).status).toBe(204)
  })

  it('user lifecycle with PATCH updates [JC-CUSTOM]', async () => {
    await userLifecycle(client(t, UA), {
      updates: 'patch', deletes: true,
      create: (userName) => ({ schemas: [USER], userName, name: { givenName: 'Jay', familyName: 'Cloud' }, emails: [{ value: userName, type: 'work', primary: true }], active: true }),
      changes: [{ title: 'Engineer' }, { name: { givenName: 'Jay', familyName: 'Renamed' } }, { emails: [{ value: 'new@example.com', type: 'work', primary: true }] }],
    })
  })

  it('group lifecycle: pushed with members, renamed, members added and removed (both removal shapes), deleted [JC-CUSTOM]', async () => {
    const c = client(t, UA)
    await groupLifecycle(c, { updates: 'patch', createWithMembers: true })
    const u = String((await c('POST', '/Users', { schemas: [USER], userName: `jc-${randomUUID()}@example.com` })).json.id)
    const v = String((await c('POST', '/Users', { schemas: [USER], userName: `jc-${randomUUID()}@example.com` })).json.id)
    const g = String((await c('POST', '/Groups', { schemas: [GROUP], displayName: `jc ${randomUUID()}`, members: [{ value: u }, { value: v }] })).json.id)
    expect((await c('PATCH', `/Groups/${g}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'members', value: [{ value: u }] }] })).status).toBe(204)
    expect(((await c('GET', `/Groups/${g}`)).json.members as { value: string }[]).map((m) => m.value)).toEqual([v])
  })

  it('the attribute table round-trips, in the spellings the table gives [JC-ENTRA]', async () => {
    const c = client(t, 'Microsoft Azure AD SCIM provisioning 1.0.0')
    const mgr = String((await c('POST', '/Users', { schemas: [USER], userName: `boss-${randomUUID()}` })).json.id)
    const userName = `first.last.${randomUUID().slice(0, 8)}`
    const created = await c('POST', '/Users', {
      schemas: [USER, ENT],
      userName,
      name: { givenName: 'First', familyName: 'Last', formatted: 'First Last', middleName: 'M', honorificPrefix: 'Dr', honorificSuffix: 'III' },
      displayName: 'First Last',
      emails: [{ value: `${userName}@corp.example`, type: 'work', primary: true }, { value: `${userName}@home.example`, type: 'home' }, { value: `${userName}@other.example`, type: 'other' }],
      active: 'True',
      title: 'Engineer',
      locale: 'en-GB',
      userType: 'Employee',
      // The table's "SCIM v2 Mapping" column names these without the enterprise URN, or flat with it.
      organization: 'Example Ltd',
      costCenter: 'CC-42',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department': 'R&D',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeeNumber': 'E-7',
      [ENT]: { division: 'Platform', manager: mgr },
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }, { value: '+44 7700 900000', type: 'mobile' }],
      addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'London', region: 'LDN', postalCode: 'N1 1AA', country: 'GB', formatted: '1 Main St, London', primary: true }],
    })
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    const expected = {
      userName, displayName: 'First Last', active: true, title: 'Engineer', locale: 'en-GB', userType: 'Employee',
      name: { givenName: 'First', familyName: 'Last', formatted: 'First Last', middleName: 'M', honorificPrefix: 'Dr', honorificSuffix: 'III' },
      emails: [{ value: `${userName}@corp.example`, type: 'work', primary: true }, { value: `${userName}@home.example`, type: 'home' }, { value: `${userName}@other.example`, type: 'other' }],
      phoneNumbers: [{ value: '+44 20 7946 0000', type: 'work', primary: true }, { value: '+44 7700 900000', type: 'mobile' }],
      addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'London', region: 'LDN', postalCode: 'N1 1AA', country: 'GB', formatted: '1 Main St, London', primary: true }],
      [ENT]: { organization: 'Example Ltd', costCenter: 'CC-42', department: 'R&D', employeeNumber: 'E-7', division: 'Platform', manager: { value: mgr } },
    }
    expect(created.json).toMatchObject(expected)
    expect((await c('GET', `/Users/${id}`)).json).toMatchObject(expected)

    // Each attribute again by PATCH, in Entra's path spellings.
    const p = await c('PATCH', `/Users/${id}?aadOptscim062020`, { schemas: [PATCH], Operations: [
      { op: 'replace', path: 'title', value: 'Lead' },
      { op: 'replace', path: 'locale', value: 'fr-FR' },
      { op: 'replace', path: 'userType', value: 'Contractor' },
      { op: 'Replace', path: 'organization', value: 'Other Ltd' },
      { op: 'Replace', path: 'costCenter', value: 'CC-1' },
      { op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department', value: 'Ops' },
      { op: 'replace', path: `${ENT}:employeeNumber`, value: 'E-8' },
      { op: 'replace', path: `${ENT}:division`, value: 'Infra' },
      { op: 'replace', path: `${ENT}:manager`, value: 'new-boss' },
      { op: 'Add', path: 'phoneNumbers[type eq "fax"].value', value: '+44 20 7946 0001' },
      { op: 'replace', path: 'addresses[type eq "work"].postalCode', value: 'E1 6AN' },
      { op: 'replace', path: 'emails[type eq "home"].value', value: 'home2@example.com' },
      { op: 'replace', value: { displayName: 'F L', 'name.givenName': 'F', 'name.familyName': 'L' } },
    ] })
    expect(p.status).toBe(200)
    const after = (await c('GET', `/Users/${id}`)).json
    expect(after).toMatchObject({ title: 'Lead', locale: 'fr-FR', userType: 'Contractor', displayName: 'F L', name: { givenName: 'F', familyName: 'L' },
      [ENT]: { organization: 'Other Ltd', costCenter: 'CC-1', department: 'Ops', employeeNumber: 'E-8', division: 'Infra', manager: { value: 'new-boss' } } })
    expect(after.phoneNumbers).toEqual(expect.arrayContaining([{ value: '+44 20 7946 0001', type: 'fax' }]))
    expect((after.addresses as Record<string, unknown>[])[0]).toMatchObject({ postalCode: 'E1 6AN', locality: 'London' })
    expect(after.emails).toEqual(expect.arrayContaining([{ value: 'home2@example.com', type: 'home' }]))
  })
})
