// Rippling against the real server. Rippling's own SCIM documentation is not public; the setup
// guides of SCIM servers that serve Rippling describe its custom-app options: SCIM 2.0, bearer
// token, "Supports Groups", "Supports Pagination", "Create & Delete Groups", "Use PATCH to edit
// Groups", and the attributes externalId, emails.primary, name.givenName, name.familyName,
// employeeNumber (WorkOS "Rippling SCIM", workos.com/docs/integrations/rippling-scim; Kombo
// "Rippling SCIM: how do I link my account"). The bodies below are RFC 7644's.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { client, ENT, groupLifecycle, USER, userLifecycle } from './lifecycle.ts'

const UA = 'Rippling SCIM'

describe.each(storeMatrix())('Rippling on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('user lifecycle with the documented attributes, looked up by externalId', async () => {
    await userLifecycle(client(t, UA), {
      updates: 'patch', deletes: true, lookupBy: 'externalId',
      create: (userName) => ({ schemas: [USER, ENT], userName, externalId: `rip-${randomUUID()}`, name: { givenName: 'Rip', familyName: 'Pling' }, emails: [{ value: userName, primary: true }], [ENT]: { employeeNumber: '7' } }),
      changes: [{ name: { givenName: 'Rip', familyName: 'Renamed' } }, { [ENT]: { employeeNumber: '8' } }],
    })
  })

  it('groups: paged listing, then create, PATCH members, delete', async () => {
    const c = client(t, UA)
    const page = await c('GET', '/Groups?startIndex=1&count=10')
    expect(page.json).toMatchObject({ startIndex: 1 })
    await groupLifecycle(c, { updates: 'patch', createWithMembers: false })
  })
})
