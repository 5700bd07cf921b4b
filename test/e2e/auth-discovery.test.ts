// Authentication, tenant isolation and discovery through the real app. Every SCIM route refuses
// every bad credential alike (docs/architecture.md AUTH-1; RFC 6750 §3, RFC 7644 §2 and §3.12)
// over a listening socket, on a SQLite file and on PostgreSQL.
import { randomBytes, randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { call } from '../helpers/spawned-server.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'

describe.each(storeMatrix())('auth and discovery on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    // No limit of failed authentications: this test's guesses must each reach the token check
    // (token-guessing.test.ts tests the limit).
    t = await startApp(factory, {}, { authFailuresPerMinute: 0 })
  })
  afterAll(async () => t.close())

  // Every SCIM route, with a body it would accept, on ids that exist in this organization (so a
  // refusal cannot be a 404 in disguise). /Me (RFC 7644 §3.11) is not served: with a token it is
  // a 404, without one a 401 like every other path, since authentication comes first.
  const routes = (ids: { user: string; group: string }): [string, string, unknown][] => [
    ['GET', '/Users', undefined], ['POST', '/Users', user('auth.probe@example.com')],
    ['GET', `/Users/${ids.user}`, undefined], ['PUT', `/Users/${ids.user}`, user('auth.target@example.com', { title: 'Changed' })],
    ['PATCH', `/Users/${ids.user}`, patchOp({ op: 'replace', path: 'title', value: 'Changed' })], ['DELETE', `/Users/${ids.user}`, undefined],
    ['GET', '/Groups', undefined], ['POST', '/Groups', { schemas: [GROUP], displayName: 'Auth probe' }],
    ['GET', `/Groups/${ids.group}`, undefined], ['PUT', `/Groups/${ids.group}`, { schemas: [GROUP], displayName: 'Changed' }],
    ['PATCH', `/Groups/${ids.group}`, patchOp({ op: 'replace', path: 'displayName', value: 'Changed' })], ['DELETE', `/Groups/${ids.group}`, undefined],
    ['POST', '/Users/.search', { schemas: [SEARCH], filter: 'userName pr' }], ['POST', '/Groups/.search', { schemas: [SEARCH], filter: 'displayName pr' }],
    ['POST', '/.search', { schemas: [SEARCH], filter: 'id pr' }],
    ['POST', '/Bulk', { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', bulkId: 'b1', data: user('bulk.probe@example.com') }] }],
    ['GET', '/Me', undefined], ['PUT', '/Me', user('me.probe@example.com')], ['PATCH', '/Me', patchOp({ op: 'replace', path: 'title', value: 'x' })], ['DELETE', '/Me', undefined],
  ]

  it('every SCIM route refuses every bad credential with 401, a SCIM body and WWW-Authenticate; nothing is read or written', async () => {
    const base = `${await listening(t)}/scim/v2`
    const a = await t.newOrg('auth-matrix')
    const u = await call(base, 'POST', '/Users', a.token, user('auth.target@example.com'))
    const g = await call(base, 'POST', '/Groups', a.token, { schemas: [GROUP], displayName: 'Auth target', members: [{ value: u.json.id }] })
    const ids = { user: String(u.json.id), group: String(g.json.id) }
    const revoked = await t.newOrg('auth-revoked')
    await refreshToken(t.deps, revoked.orgId)
    const wellFormed = `roster_scim_${randomBytes(32).toString('base64url')}`
    const credentials: [string, Record<string, string>][] = [
      ['no header', {}],
      ['Basic', { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }],
      ['Basic with the token as password', { authorization: `Basic ${Buffer.from(`x:${a.token}`).toString('base64')}` }],
      ['malformed bearer', { authorization: 'Bearer' }],
      ['two tokens', { authorization: `Bearer ${a.token} ${a.token}` }],
      ['right prefix, random body of the wrong length', { authorization: `Bearer roster_scim_${randomBytes(12).toString('base64url')}` }],
      ['right prefix, a body outside base64url', { authorization: `Bearer roster_scim_${'!'.repeat(43)}` }],
      ['unknown shape', { authorization: 'Bearer abc.def.ghi' }],
      ['unknown well-formed token', { authorization: `Bearer ${wellFormed}` }],
      ['revoked token', { authorization: `Bearer ${revoked.token}` }],
    ]
    const before = [await call(base, 'GET', `/Users/${ids.user}`, a.token), await call(base, 'GET', `/Groups/${ids.group}`, a.token)].map((r) => r.json)
    const wrong: string[] = []
    let answered = 0
    for (const [method, path, body] of routes(ids)) {
      for (const [what, headers] of credentials) {
        const r = await fetch(`${base}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
        const text = await r.text()
        answered++
        const json = (() => {
          try {
            return JSON.parse(text) as Record<string, unknown>
          } catch {
            return {}
          }
        })()
        const ok = r.status === 401 && /^Bearer realm="roster-scim"/.test(r.headers.get('www-authenticate') ?? '') &&
          isDeepStrictEqual(json.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']) && json.status === '401' && typeof json.detail === 'string'
        if (!ok) wrong.push(`${method} ${path} with ${what}: ${r.status} ${r.headers.get('www-authenticate') ?? '-'} ${text.slice(0, 200)}`)
      }
    }
    expect(wrong).toEqual([])
    expect(answered).toBe(routes(ids).length * credentials.length)
    // Nothing was written: the organization holds its one user and one group, as they were.
    expect([await call(base, 'GET', `/Users/${ids.user}`, a.token), await call(base, 'GET', `/Groups/${ids.group}`, a.token)].map((r) => r.json)).toEqual(before)
    expect((await call(base, 'GET', '/Users', a.token)).json.totalResults).toBe(1)
    expect((await call(base, 'GET', '/Groups', a.token)).json.totalResults).toBe(1)
    // With a valid token /Me is a plain 404 (not served), never another user's resource.
    expect((await call(base, 'GET', '/Me', a.token)).status).toBe(404)
  })

  it('another organization\'s token on this organization\'s ids is answered exactly as on random ids (TEN-1), and changes nothing', async () => {
    const base = `${await listening(t)}/scim/v2`
    const a = await t.newOrg('auth-owner')
    const b = await t.newOrg('auth-stranger')
    const u = await call(base, 'POST', '/Users', a.token, user('owned.user@example.com'))
    const g = await call(base, 'POST', '/Groups', a.token, { schemas: [GROUP], displayName: 'Owned group', members: [{ value: u.json.id }] })
    const ids = { user: String(u.json.id), group: String(g.json.id) }
    const random = { user: randomUUID(), group: randomUUID() }
    const before = [await call(base, 'GET', `/Users/${ids.user}`, a.token), await call(base, 'GET', `/Groups/${ids.group}`, a.token)].map((r) => r.json)
    const byId = (r: [string, string, unknown][]) => r.filter(([, path]) => /^\/(Users|Groups)\/[^.]/.test(path))
    const theirs = byId(routes(ids))
    const randoms = byId(routes(random))
    expect(theirs).toHaveLength(8)
    const differ: string[] = []
    for (const [i, [method, path, body]] of theirs.entries()) {
      const [, randomPath, randomBody] = randoms[i] ?? []
      const r = await call(base, method, path, b.token, body)
      const m = await call(base, method, String(randomPath), b.token, randomBody)
      const id = path.split('/')[2] ?? ''
      const rid = String(randomPath).split('/')[2] ?? ''
      if (r.status !== 404 || r.status !== m.status || r.text.replaceAll(id, '{id}') !== m.text.replaceAll(rid, '{id}')) {
        differ.push(`${method} ${path}: ${r.status} ${r.text} vs ${m.status} ${m.text}`)
      }
    }
    expect(differ).toEqual([])
    expect([await call(base, 'GET', `/Users/${ids.user}`, a.token), await call(base, 'GET', `/Groups/${ids.group}`, a.token)].map((r) => r.json)).toEqual(before)
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
