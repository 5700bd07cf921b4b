// Custom attributes as Entra ID and Okta send them, against the real server, once the
// organization has declared the extension their admin configured (docs/custom-attributes.md):
// [ENTRA] "Customize user provisioning attribute-mappings", section "Provisioning a custom
//   extension attribute to a SCIM compliant application",
//   learn.microsoft.com/entra/identity/app-provisioning/customize-application-attributes:
//   the target attribute is `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:CustomAttribute`,
//   sent in the create's body under its URN and in PATCH operations by its full path.
// [OKTA] "Add custom attributes to an Okta user profile" and the SCIM 2.0 guide
//   (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20): an app profile attribute with an
//   external name and an external namespace, sent under the namespace in POST and in the full-profile PUT.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { declareSchema } from '../../src/provisioning/org-schemas.ts'
import { startApp, type Res, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const ENTRA_EXT = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'
const OKTA_EXT = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User'
const q = encodeURIComponent

describe.each(storeMatrix())('custom attributes from identity providers on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('Entra ID: the custom extension attribute in the create, in Add and Replace by its full path, and in a filter', async () => {
    const org = await t.newOrg(`entra-custom-${randomUUID()}`)
    await declareSchema(t.deps, org.orgId, { id: ENTRA_EXT, name: 'CustomExtension', attributes: [{ name: 'CustomAttribute', type: 'string' }] }, 'test')
    const entra = (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<Res> =>
      t.req(method, path, body, { token: org.token, headers: { 'user-agent': 'Microsoft Azure AD SCIM provisioning 1.0.0' } })
    const n = randomUUID()
    // [ENTRA] the example body, with unique values.
    const created = await entra('POST', '/Users', {
      schemas: [USER, ENT, ENTRA_EXT],
      userName: `bjensen-${n}`,
      externalId: `bjensen-${n}`,
      name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
      [ENT]: { employeeNumber: '701984', costCenter: '4130', organization: 'Universal Studios', division: 'Theme Park', department: 'Tour Operations' },
      [ENTRA_EXT]: { CustomAttribute: '701984' },
      meta: { resourceType: 'User' },
    })
    expect(created.status, created.text).toBe(201)
    expect(created.json.schemas).toEqual([USER, ENT, ENTRA_EXT])
    expect(created.json[ENTRA_EXT]).toEqual({ CustomAttribute: '701984' })
    const id = String(created.json.id)

    // Entra ID's capitalized operations, the attribute named by its full path.
    const replaced = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: `${ENTRA_EXT}:CustomAttribute`, value: '701985' }] })
    expect(replaced.status, replaced.text).toBe(200)
    expect(replaced.json[ENTRA_EXT]).toEqual({ CustomAttribute: '701985' })
    const removed = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Remove', path: `${ENTRA_EXT}:CustomAttribute` }] })
    expect(removed.json).not.toHaveProperty(ENTRA_EXT)
    const added = await entra('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: `${ENTRA_EXT}:CustomAttribute`, value: '42' }] })
    expect(added.json[ENTRA_EXT]).toEqual({ CustomAttribute: '42' })
    // The attribute name is case-insensitive (RFC 7643 §2.1).
    const found = await entra('GET', `/Users?filter=${q(`${ENTRA_EXT}:customattribute eq "42"`)}`)
    expect(found.json).toMatchObject({ totalResults: 1, Resources: [{ id }] })
  })

  it('Okta: the app profile attribute under its external namespace, in the create and the full-profile PUT', async () => {
    const org = await t.newOrg(`okta-custom-${randomUUID()}`)
    await declareSchema(t.deps, org.orgId, {
      id: OKTA_EXT, name: 'Acme',
      attributes: [{ name: 'costCenter', type: 'string', maxLength: 20 }, { name: 'startDate', type: 'dateTime' }, { name: 'isManager', type: 'boolean' }],
    }, 'test')
    const okta = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Res> =>
      t.req(method, path, body, { token: org.token, headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } })
    const n = randomUUID().slice(0, 8)
    const userName = `custom.user.${n}@okta.local`
    const created = await okta('POST', '/Users', {
      schemas: [USER, OKTA_EXT], userName, name: { givenName: 'Custom', familyName: 'User' },
      emails: [{ primary: true, value: userName, type: 'work' }], displayName: 'Custom User', active: true,
      [OKTA_EXT]: { costCenter: 'CC-100', startDate: '2026-01-05T00:00:00Z', isManager: false },
    })
    expect(created.status, created.text).toBe(201)
    expect(created.json[OKTA_EXT]).toEqual({ costCenter: 'CC-100', startDate: '2026-01-05T00:00:00Z', isManager: false })
    const id = String(created.json.id)

    // Okta GETs the user and PUTs the whole profile back with the change.
    const got = await okta('GET', `/Users/${id}`)
    const put = await okta('PUT', `/Users/${id}`, { ...got.json, [OKTA_EXT]: { costCenter: 'CC-200', startDate: '2026-01-05T00:00:00Z', isManager: true } })
    expect(put.status, put.text).toBe(200)
    expect(put.json[OKTA_EXT]).toEqual({ costCenter: 'CC-200', startDate: '2026-01-05T00:00:00Z', isManager: true })
    const bad = await okta('PUT', `/Users/${id}`, { ...got.json, [OKTA_EXT]: { isManager: 'yes' } })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ scimType: 'invalidValue' })
    expect(String(bad.json.detail)).toContain(`${OKTA_EXT}:isManager`)
    const managers = await okta('GET', `/Users?filter=${q(`${OKTA_EXT}:isManager eq true`)}`)
    expect(managers.json).toMatchObject({ totalResults: 1, Resources: [{ id }] })
  })
})
