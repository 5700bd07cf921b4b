// /Users end to end: every operation and its errors, on a real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const q = (f: string) => encodeURIComponent(f)

describe.each(storeMatrix())('/Users on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory, { maxBodyBytes: 64 * 1024 })
  })
  afterAll(async () => t.close())

  it('POST creates a user: 201, Location, ETag, meta, schemas; id and meta from the client are ignored', async () => {
    const r = await t.req('POST', '/Users', { ...user('Create.One@Example.com'), id: 'client-id', meta: { version: 'W/"99"' }, [ENT]: { department: 'R&D', manager: { value: 'm1' } } })
    expect(r.status).toBe(201)
    expect(r.headers['content-type']).toMatch(/^application\/scim\+json/)
    const id = String(r.json.id)
    expect(id).not.toBe('client-id')
    expect(r.headers.location).toBe(`https://roster.test/scim/v2/Users/${id}`)
    expect(r.headers.etag).toBe('W/"1"')
    expect(r.json.meta).toMatchObject({ resourceType: 'User', version: 'W/"1"', location: `https://roster.test/scim/v2/Users/${id}` })
    expect(r.json.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', ENT])
    expect(r.json.userName).toBe('Create.One@Example.com')
    expect((r.json[ENT] as Record<string, unknown>).department).toBe('R&D')
    const again = await t.req('GET', `/Users/${id}`)
    expect(again.status).toBe(200)
    expect(again.json.meta).toEqual(r.json.meta)
    expect(again.json.userName).toBe('Create.One@Example.com')
    // The 201 is the resource as a GET shows it (RFC 7644 §3.3: the resource as created).
    expect(r.json).toEqual(again.json)
  })

  it('a password is accepted, never returned, never stored in clear, and cannot be filtered on', async () => {
    const r = await t.req('POST', '/Users', user('pw.user@example.com', { password: 'canary-Secr3t!' }))
    expect(r.status).toBe(201)
    expect(r.text).not.toContain('canary')
    const g = await t.req('GET', `/Users/${String(r.json.id)}?attributes=password,userName`)
    expect(g.text).not.toContain('canary')
    expect(g.json.password).toBeUndefined()
    const f = await t.req('GET', `/Users?filter=${q('password eq "canary-Secr3t!"')}`)
    expect(f.status).toBe(400)
    expect(f.json.scimType).toBe('invalidFilter')
    const p = await t.req('PATCH', `/Users/${String(r.json.id)}`, patchOp({ op: 'replace', path: 'password', value: 'canary-2' }))
    expect(p.status).toBe(200)
    expect(p.text).not.toContain('canary')
  })

  it('userName is unique case-insensitively: 409 uniqueness naming the holder', async () => {
    const a = await t.req('POST', '/Users', user('Dup.User@example.com'))
    expect(a.status).toBe(201)
    const b = await t.req('POST', '/Users', user('dup.user@EXAMPLE.com'))
    expect(b.status).toBe(409)
    expect(b.json.scimType).toBe('uniqueness')
    expect(String(b.json.detail)).toContain(String(a.json.id))
    const fw = await t.req('POST', '/Users', user('ＤＵＰ.user@example.com'))
    expect(fw.status).toBe(409)
  })

  it('required userName missing is 400 invalidValue; malformed JSON is 400 invalidSyntax', async () => {
    const r = await t.req('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], name: { givenName: 'x' } })
    expect(r.status).toBe(400)
    expect(r.json.scimType).toBe('invalidValue')
    const bad = await t.req('POST', '/Users', '{"userName": ')
    expect(bad.status).toBe(400)
    expect(bad.json.scimType).toBe('invalidSyntax')
    const wrongType = await t.req('POST', '/Users', user('types@example.com', { active: 'yes' }))
    expect(wrongType.status).toBe(400)
    expect(wrongType.json.scimType).toBe('invalidValue')
  })

  it('a body over the limit is 413 and the next request still works', async () => {
    const big = user('big@example.com', { nickName: 'x'.repeat(70 * 1024) })
    const r = await t.req('POST', '/Users', big)
    expect(r.status).toBe(413)
    expect(r.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
    expect((await t.req('GET', '/Users?count=1')).status).toBe(200)
  })

  it('application/json is accepted, other media types are 415 with a SCIM body', async () => {
    const ok = await t.req('POST', '/Users', user('json.type@example.com'), { headers: { 'content-type': 'application/json; charset=utf-8' } })
    expect(ok.status).toBe(201)
    const bad = await t.req('POST', '/Users', 'userName=x', { headers: { 'content-type': 'text/plain' } })
    expect(bad.status).toBe(415)
    expect(bad.json.status).toBe('415')
  })

  it('GET with If-None-Match of the current version is 304; PUT with a stale If-Match is 412', async () => {
    const c = await t.req('POST', '/Users', user('etag.user@example.com'))
    const id = String(c.json.id)
    const nm = await t.req('GET', `/Users/${id}`, undefined, { headers: { 'if-none-match': 'W/"1"' } })
    expect(nm.status).toBe(304)
    const put = await t.req('PUT', `/Users/${id}`, user('etag.user@example.com', { displayName: 'v2' }), { headers: { 'if-match': 'W/"1"' } })
    expect(put.status).toBe(200)
    expect(put.json.meta).toMatchObject({ version: 'W/"2"' })
    const stale = await t.req('PUT', `/Users/${id}`, user('etag.user@example.com', { displayName: 'v3' }), { headers: { 'if-match': 'W/"1"' } })
    expect(stale.status).toBe(412)
    const stalePatch = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' }), { headers: { 'if-match': 'W/"1"' } })
    expect(stalePatch.status).toBe(412)
    expect((await t.req('GET', `/Users/${id}`)).json.displayName).toBe('v2')
  })

  it('PUT replaces the body: attributes left out are removed, created stays, lastModified moves', async () => {
    const c = await t.req('POST', '/Users', user('put.user@example.com', { title: 'Engineer', nickName: 'Nick' }))
    const id = String(c.json.id)
    const r = await t.req('PUT', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'put.user@example.com', title: 'Manager' })
    expect(r.status).toBe(200)
    expect(r.json.title).toBe('Manager')
    expect(r.json.nickName).toBeUndefined()
    expect((r.json.meta as Record<string, string>).created).toBe((c.json.meta as Record<string, string>).created)
    expect((await t.req('PUT', '/Users/nope', user('x@example.com'))).status).toBe(404)
  })

  it('a PUT that repeats the stored user keeps its version (the representation did not change)', async () => {
    const c = await t.req('POST', '/Users', user('same.put@example.com', { title: 'Engineer' }))
    const id = String(c.json.id)
    const first = await t.req('PUT', `/Users/${id}`, user('same.put@example.com', { title: 'Engineer' }))
    expect(first.status).toBe(200)
    expect(first.headers.etag).toBe(c.headers.etag)
    const changed = await t.req('PUT', `/Users/${id}`, user('same.put@example.com', { title: 'Manager' }))
    expect(changed.headers.etag).toBe('W/"2"')
    expect((await t.req('PUT', `/Users/${id}`, user('same.put@example.com', { title: 'Manager' }))).headers.etag).toBe('W/"2"')
  })

  it('PATCH add/replace/remove with paths, value filters and multi-valued merges', async () => {
    const c = await t.req('POST', '/Users', user('patch.user@example.com', { phoneNumbers: [{ value: '+1 555 0100', type: 'work' }] }))
    const id = String(c.json.id)
    const r = await t.req('PATCH', `/Users/${id}`, patchOp(
      { op: 'replace', path: 'name.familyName', value: 'Byron' },
      { op: 'add', path: 'emails', value: [{ value: 'home@example.com', type: 'home', primary: true }] },
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'new.work@example.com' },
      { op: 'remove', path: 'phoneNumbers[type eq "work"]' },
      { op: 'add', path: `${ENT}:department`, value: 'Ops' },
    ))
    expect(r.status).toBe(200)
    expect((r.json.name as Record<string, unknown>).familyName).toBe('Byron')
    const emails = r.json.emails as { value: string; type: string; primary?: boolean }[]
    expect(emails.map((e) => e.value).sort()).toEqual(['home@example.com', 'new.work@example.com'])
    expect(emails.filter((e) => e.primary === true).map((e) => e.value)).toEqual(['home@example.com'])
    expect(r.json.phoneNumbers).toBeUndefined()
    expect((r.json[ENT] as Record<string, unknown>).department).toBe('Ops')
    const found = await t.req('GET', `/Users?filter=${q('emails.value eq "NEW.work@example.com"')}`)
    expect(found.json.totalResults).toBe(1)
  })

  it('PATCH is all or nothing, and its errors carry the right scimType', async () => {
    const c = await t.req('POST', '/Users', user('atomic.user@example.com', { title: 'Before' }))
    const id = String(c.json.id)
    const r = await t.req('PATCH', `/Users/${id}`, patchOp(
      { op: 'replace', path: 'title', value: 'After' },
      { op: 'replace', path: 'emails[value co "pager"].value', value: 'x@example.com' },
    ))
    expect(r.status).toBe(400)
    expect(r.json.scimType).toBe('noTarget')
    expect((await t.req('GET', `/Users/${id}`)).json.title).toBe('Before')
    const ro = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'id', value: 'x' }))
    expect(ro.json.scimType).toBe('mutability')
    const groupsRo = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'groups', value: [{ value: 'g' }] }))
    expect(groupsRo.json.scimType).toBe('mutability')
    const badPath = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'nosuchattr[type eq "x"]', value: 'x' }))
    expect(badPath.status).toBe(400)
    expect(badPath.json.scimType).toBe('invalidPath')
    const noSchema = await t.req('PATCH', `/Users/${id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] })
    expect(noSchema.status).toBe(400)
    const missing = await t.req('PATCH', '/Users/nope', patchOp({ op: 'replace', path: 'title', value: 'x' }))
    expect(missing.status).toBe(404)
  })

  it('active false deactivates without deleting; DELETE removes and later reads are 404', async () => {
    const c = await t.req('POST', '/Users', user('lifecycle.user@example.com'))
    const id = String(c.json.id)
    const off = await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }))
    expect(off.status).toBe(200)
    expect(off.json.active).toBe(false)
    const inactive = await t.req('GET', `/Users?filter=${q('active eq false and userName eq "lifecycle.user@example.com"')}`)
    expect(inactive.json.totalResults).toBe(1)
    expect((await t.req('DELETE', `/Users/${id}`)).status).toBe(204)
    expect((await t.req('GET', `/Users/${id}`)).status).toBe(404)
    expect((await t.req('DELETE', `/Users/${id}`)).status).toBe(404)
  })

  it('an unparsable filter is 400 invalidFilter pointing at the problem; unknown query parameters are ignored', async () => {
    const r = await t.req('GET', `/Users?filter=${q('userName eq')}`)
    expect(r.status).toBe(400)
    expect(r.json.scimType).toBe('invalidFilter')
    expect(String(r.json.detail)).toMatch(/position|at /i)
    const unknownAttr = await t.req('GET', `/Users?filter=${q('shoeSize gt 3')}`)
    expect(unknownAttr.json.scimType).toBe('invalidFilter')
    const deep = await t.req('GET', `/Users?filter=${q(`${'('.repeat(2000)}userName eq "x"${')'.repeat(2000)}`)}`)
    expect(deep.status).toBe(400)
    expect(deep.json.scimType).toBe('invalidFilter')
    const aad = await t.req('GET', `/Users?aadOptscim062020&filter=${q('userName eq "no.such.user@example.com"')}`)
    expect(aad.status).toBe(200)
    expect(aad.json).toMatchObject({ totalResults: 0, Resources: [] })
  })
})
