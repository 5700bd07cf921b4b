// OneLogin against the real server. [KB] "Creating SCIM Custom Connectors", OneLogin knowledge
// base KB0013904 (onelogin.service-now.com/kb?id=kb_article_view&sysparm_article=KB0013904): the
// "SCIM Provisioner with SAML (SCIM v2 Enterprise)" connector sends the user built from its SCIM
// JSON template (enterprise schema, manager from external_manager_id with a displayName), and reads
// groups from /Groups ("Refresh Entitlements"); membership comes from rules. OneLogin does not
// document its update and membership bodies: those below are RFC 7644's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { client, ENT, groupLifecycle, USER, userLifecycle } from './lifecycle.ts'

const UA = 'OneLogin SCIM'

describe.each(storeMatrix())('OneLogin on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('user lifecycle from the SCIM v2 Enterprise template [KB]', async () => {
    const c = client(t, UA)
    const mgr = String((await c('POST', '/Users', { schemas: [USER], userName: `mgr-${Date.now()}@example.com` })).json.id)
    const id = await userLifecycle(c, {
      updates: 'patch', deletes: true,
      // The template's fields, as OneLogin fills them in.
      create: (userName) => ({
        schemas: [USER, ENT], userName,
        name: { familyName: 'Login', givenName: 'One' },
        title: 'Analyst', userType: 'Employee', timezone: 'Europe/London',
        emails: [{ value: userName, type: 'work', primary: true }],
        addresses: [{ locality: 'London', region: 'England', country: 'GB' }],
        [ENT]: { organization: 'Org', division: 'Div', department: 'Dept', manager: { value: mgr, displayName: 'Boss Person' } },
      }),
      changes: [{ title: 'Senior Analyst' }, { [ENT]: { department: 'Finance' } }, { name: { familyName: 'Renamed', givenName: 'One' } }],
    })
    expect(id).toBeTruthy()
  })

  it('the template\'s manager keeps its id; its displayName is the server\'s to set (readOnly) [KB]', async () => {
    const c = client(t, UA)
    const r = await c('POST', '/Users', { schemas: [USER, ENT], userName: `m-${Date.now()}@example.com`, [ENT]: { manager: { value: 'ext-42', displayName: 'Boss Person' } } })
    expect(r.status).toBe(201)
    expect((r.json[ENT] as Record<string, unknown>).manager).toEqual({ value: 'ext-42' })
  })

  it('groups: Refresh Entitlements lists them; a group lifecycle by PATCH [KB]', async () => {
    const c = client(t, UA)
    const list = await c('GET', '/Groups')
    expect(list.status).toBe(200)
    expect(list.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse'])
    await groupLifecycle(c, { updates: 'patch', createWithMembers: false })
  })
})
