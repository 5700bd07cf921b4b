// Google Workspace against the real server. Google's "Automated user provisioning" is offered
// only for applications in its catalog; we found no Google documentation of the requests it sends
// to a SCIM endpoint (docs/compatibility.md). These tests therefore run the RFC 7644 lifecycle
// with a Google User-Agent and assert only RFC behaviour: they guard the baseline, not a dialect.
import { afterAll, beforeAll, describe, it } from 'vitest'
import { startApp, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { client, groupLifecycle, USER, userLifecycle } from './lifecycle.ts'

const UA = 'Google-Auto-Provisioning'

describe.each(storeMatrix())('Google Workspace (RFC baseline) on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('user lifecycle by PATCH (RFC 7644 baseline)', async () => {
    await userLifecycle(client(t, UA), {
      updates: 'patch', deletes: true,
      create: (userName) => ({ schemas: [USER], userName, name: { givenName: 'G', familyName: 'Suite' }, emails: [{ value: userName, type: 'work', primary: true }], active: true }),
      changes: [{ displayName: 'G Suite' }, { name: { givenName: 'Gee', familyName: 'Suite' } }],
    })
  })

  it('group lifecycle by PATCH (RFC 7644 baseline)', async () => {
    await groupLifecycle(client(t, UA), { updates: 'patch', createWithMembers: false })
  })
})
