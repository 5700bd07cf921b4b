// PingOne against the real server.
// [FEATURES] "SCIM provisioning features", docs.pingidentity.com/pingone/integrations/p1_scim_provisioning_features.html:
//   create, update, disable and delete users; core and enterprise attributes; a configurable
//   filter expression; provisioning disabled users; configurable group provisioning.
// [LIMITS] "SCIM provisioning limitations", docs.pingidentity.com/r/en-us/pingone/p1_scim_provisioning_limitations:
//   "The provisioner does not support patch updates" (so users and groups are updated by PUT);
//   "one value per type" for emails, phones and addresses.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { client, ENT, groupLifecycle, USER, userLifecycle } from './lifecycle.ts'

const UA = 'PingOne SCIM Outbound'

describe.each(storeMatrix())('PingOne on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('user lifecycle by PUT, one value per type, enterprise attributes [FEATURES][LIMITS]', async () => {
    await userLifecycle(client(t, UA), {
      updates: 'put', deletes: true,
      create: (userName) => ({
        schemas: [USER, ENT], userName, externalId: `p1-${randomUUID()}`, active: true,
        name: { givenName: 'Ping', familyName: 'One' },
        emails: [{ value: userName, type: 'work', primary: true }, { value: `home-${userName}`, type: 'home' }],
        phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
        [ENT]: { department: 'Sales', employeeNumber: '100' },
      }),
      changes: [{ title: 'Rep' }, { phoneNumbers: [{ value: '+1 555 0199', type: 'work' }] }, { [ENT]: { department: 'Support', employeeNumber: '100' } }],
      lookupBy: 'externalId',
    })
  })

  it('provisions a disabled user, then enables it by PUT [FEATURES]', async () => {
    const c = client(t, UA)
    const r = await c('POST', '/Users', { schemas: [USER], userName: `off-${randomUUID()}@example.com`, active: false })
    expect(r.status).toBe(201)
    expect(r.json.active).toBe(false)
    const on = await c('PUT', `/Users/${String(r.json.id)}`, { ...r.json, active: true })
    expect(on.json.active).toBe(true)
  })

  it('group lifecycle by PUT [FEATURES][LIMITS]', async () => {
    await groupLifecycle(client(t, UA), { updates: 'put', createWithMembers: true })
  })
})
