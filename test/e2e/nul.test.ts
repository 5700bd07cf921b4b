// NUL characters (U+0000) in requests (docs/architecture.md ROS-7): PostgreSQL cannot store them
// and SQLite can, so both stores refuse them alike with 400 invalidValue naming where the NUL
// is, write nothing, and keep recording the organization's provisioning log afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

describe.each(storeMatrix())('NUL characters in requests on $name', (factory) => {
  let t: TestApp
  let key = ''

  beforeAll(async () => {
    t = await startApp(factory)
    key = (await createApiKey(t.deps, { name: 'nul', orgId: null, scopes: ['directory:read', 'directory:write', 'log:read'], expiresAt: null })).key
  })
  afterAll(async () => t.close())

  const invalid = (detail: string) => ({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail })

  it('refuses a NUL in a body, a path or a filter with 400 invalidValue, writes nothing, and the log goes on', async () => {
    const created = await t.req('POST', '/Users', user('a\u0000b@example.com'))
    expect(created.status).toBe(400)
    expect(created.json).toEqual(invalid('"userName" contains a NUL character (U+0000), which no value may hold'))
    const group = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Team\u0000' })
    expect(group.json).toEqual(invalid('"displayName" contains a NUL character (U+0000), which no value may hold'))

    const ok = await t.req('POST', '/Users', user('nul.ok@example.com'))
    const id = String(ok.json.id)
    const patched = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'x\u0000@example.com', type: 'work' }] }))
    expect(patched.json).toEqual(invalid('"Operations[0].value[0].value" contains a NUL character (U+0000), which no value may hold'))
    expect((await t.req('GET', `/Users/${id}`)).json.meta).toMatchObject({ version: 'W/"1"' })

    const url = 'The request URL contains a NUL character (%00), which no value may hold'
    expect((await t.req('GET', '/Users/abc%00def')).json).toEqual(invalid(url))
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent('userName eq "a\u0000b"')}`)).json).toEqual(invalid(url))
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent('userName sw "nul."')}`)).json.totalResults).toBe(1)

    // The provisioning log still records this organization's requests.
    expect((await t.req('GET', '/Users/no-such-user')).status).toBe(404)
    await t.app.provisioningLog.flush()
    const log = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${t.orgId}/provisioning-log?status=404`, headers: { authorization: `Bearer ${key}` } })
    expect((JSON.parse(log.body) as { items: { path: string }[] }).items.map((i) => i.path)).toContain('/scim/v2/Users/no-such-user')
  })

  it('refuses a NUL in the directory API likewise', async () => {
    const r = await t.app.inject({ method: 'POST', url: `/api/v1/orgs/${t.orgId}/users`, headers: { authorization: `Bearer ${key}` }, payload: { userName: 'n@example.com', metadata: { 'k\u0000': 1 } } })
    expect(r.statusCode).toBe(400)
    expect(JSON.parse(r.body)).toMatchObject({ error: 'invalid_parameter', message: '"metadata.k\\u0000" contains a NUL character (U+0000), which no value may hold' })
    const g = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${t.orgId}/users/by-user-name/a%00b`, headers: { authorization: `Bearer ${key}` } })
    expect(g.statusCode).toBe(400)
    expect(JSON.parse(g.body)).toMatchObject({ error: 'invalid_parameter', message: 'value: contains a NUL character (%00), which no value may hold' })
  })
})
