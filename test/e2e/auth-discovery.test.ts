// Authentication, tenant isolation and discovery through the real app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

describe.each(storeMatrix())('auth and discovery on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  const routes: [string, string][] = [
    ['GET', '/Users'], ['POST', '/Users'], ['GET', '/Users/x'], ['PUT', '/Users/x'], ['PATCH', '/Users/x'], ['DELETE', '/Users/x'],
    ['POST', '/Users/.search'], ['GET', '/Groups'], ['POST', '/Groups'], ['GET', '/Groups/x'], ['PATCH', '/Groups/x'], ['DELETE', '/Groups/x'],
    ['POST', '/.search'],
  ]
  const badAuth: [string, Record<string, string>][] = [
    ['no header', {}],
    ['Basic', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['malformed bearer', { authorization: 'Bearer' }],
    ['right prefix, random body', { authorization: `Bearer roster_scim_${'A'.repeat(43)}` }],
    ['unknown shape', { authorization: 'Bearer abc.def.ghi' }],
  ]

  it.each(routes)('%s %s refuses every bad credential with 401, a SCIM body and WWW-Authenticate', async (method, path) => {
    for (const [, headers] of badAuth) {
      const r = await t.req(method as 'GET', path, method === 'GET' || method === 'DELETE' ? undefined : {}, { token: null, headers })
      expect(r.status).toBe(401)
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(r.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
      expect(r.json.status).toBe('401')
    }
  })

  it('a token in the query string or a cookie is never accepted', async () => {
    const q = await t.req('GET', `/Users?access_token=${t.token}`, undefined, { token: null })
    expect(q.status).toBe(401)
    const c = await t.req('GET', '/Users', undefined, { token: null, headers: { cookie: `token=${t.token}` } })
    expect(c.status).toBe(401)
  })

  it('refreshing a token revokes the previous one at once and the new one works', async () => {
    const org = await t.newOrg('refresh-org')
    expect((await t.req('GET', '/Users', undefined, { token: org.token })).status).toBe(200)
    const fresh = await refreshToken(t.deps, org.orgId)
    expect((await t.req('GET', '/Users', undefined, { token: org.token })).status).toBe(401)
    expect((await t.req('GET', '/Users', undefined, { token: fresh.token })).status).toBe(200)
  })

  it('tokens are stored only as hashes with a recognisable prefix and 256 random bits', async () => {
    expect(t.token).toMatch(/^roster_scim_[A-Za-z0-9_-]{43}$/)
    const org = await t.store.getOrg(t.orgId)
    expect(JSON.stringify(org)).not.toContain(t.token)
  })

  it('another organization\'s resources behave exactly like missing ones', async () => {
    const other = await t.newOrg('isolation-org')
    const created = await t.req('POST', '/Users', user('secret.person@example.com'), { token: other.token })
    expect(created.status).toBe(201)
    const id = String(created.json.id)
    const missing = await t.req('GET', '/Users/00000000-0000-4000-8000-000000000000')
    for (const [method, body] of [['GET', undefined], ['PUT', user('x@example.com')], ['PATCH', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] }], ['DELETE', undefined]] as const) {
      const r = await t.req(method, `/Users/${id}`, body)
      expect(r.status).toBe(404)
      expect(r.json.scimType).toBe(missing.json.scimType)
    }
    const f = await t.req('GET', `/Users?filter=${encodeURIComponent('userName eq "secret.person@example.com"')}`)
    expect(f.json.totalResults).toBe(0)
    // The same userName in this organization is not a conflict (docs/architecture.md TEN-2).
    expect((await t.req('POST', '/Users', user('secret.person@example.com'))).status).toBe(201)
    const still = await t.req('GET', `/Users/${id}`, undefined, { token: other.token })
    expect(still.status).toBe(200)
  })

  it('discovery is readable without a token and describes User, Group and EnterpriseUser', async () => {
    const spc = await t.req('GET', '/ServiceProviderConfig', undefined, { token: null })
    expect(spc.status).toBe(200)
    expect(spc.json).toMatchObject({ patch: { supported: true }, filter: { supported: true }, etag: { supported: true }, sort: { supported: true }, bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 1024 * 1024 } })
    const rts = await t.req('GET', '/ResourceTypes', undefined, { token: null })
    expect(rts.json.totalResults).toBe(2)
    const u = await t.req('GET', '/ResourceTypes/User', undefined, { token: null })
    expect(u.json.schemaExtensions).toEqual([{ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false }])
    const schemas = await t.req('GET', '/Schemas', undefined, { token: null })
    expect((schemas.json.Resources ?? []).map((s) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group',
    ])
    const userSchema = await t.req('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User', undefined, { token: null })
    const userName = (userSchema.json.attributes as Record<string, unknown>[]).find((a) => a.name === 'userName')
    expect(userName).toMatchObject({ caseExact: false, uniqueness: 'server', required: true })
    const password = (userSchema.json.attributes as Record<string, unknown>[]).find((a) => a.name === 'password')
    expect(password).toMatchObject({ returned: 'never', mutability: 'writeOnly' })
    expect((await t.req('GET', '/Schemas/urn:nope', undefined, { token: null })).status).toBe(404)
  })

  it('unknown endpoints are SCIM 404s, and routes are matched case-insensitively', async () => {
    const r = await t.req('GET', '/Widgets')
    expect(r.status).toBe(404)
    expect(r.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
    expect((await t.req('GET', '/users')).status).toBe(200)
  })

  it('health answers when the database does', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/healthz' })
    expect(r.statusCode).toBe(200)
  })
})
