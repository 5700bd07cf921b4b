// Media types through every request form, on SCIM and on the directory API, over a raw socket so
// that a request without a Content-Type is really sent without one. SCIM reads
// application/scim+json (RFC 7644 §3.1, §8.1) and application/json, with or without a charset;
// /api/v1 reads application/json. Any other body type, or a body without a type, is 415 with the
// surface's error body (RFC 9110 §15.5.16), and nothing is written. An Accept that admits no JSON
// (`application/xml`) is 406 (RFC 9110 §12.5.1; RFC 7644 §3.8 asks only for
// application/scim+json and application/json); `*/*`, either JSON type, or no Accept is answered.
// ASVS 4.0.3 13.1.5 (requests with unexpected content types are rejected) and 13.2.5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { clientFrom, type Answer } from '../helpers/http-from.ts'
import { jsonBody } from '../helpers/json-body.ts'
import { listening } from '../helpers/typed-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'

/** Body types neither surface reads, each with a body of its kind. */
const REFUSED: readonly { readonly type: string | null; readonly body: (json: string) => string }[] = [
  { type: 'application/xml', body: () => '<User><userName>x@example.com</userName></User>' },
  { type: 'application/xml', body: (json) => json },
  { type: null, body: (json) => json },
  { type: 'multipart/form-data; boundary=XyZ', body: (json) => `--XyZ\r\nContent-Disposition: form-data; name="user"\r\n\r\n${json}\r\n--XyZ--\r\n` },
  { type: 'text/plain; charset=utf-8', body: (json) => json },
  { type: 'text/plain', body: (json) => json },
  { type: 'application/x-www-form-urlencoded', body: () => 'userName=x%40example.com' },
]

describe.each(storeMatrix())('media types on $name', (factory) => {
  let t: TestApp
  let key: string
  let raw: ReturnType<typeof clientFrom>
  beforeAll(async () => {
    t = await startApp(factory)
    key = (await createApiKey(t.deps, { name: 'media', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    raw = clientFrom(await listening(t), '127.0.0.1', 2)
  })
  afterAll(async () => {
    raw.close()
    await t.close()
  })

  const scim = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    raw.send(method, `/scim/v2${path}`, { authorization: `Bearer ${t.token}`, ...headers }, body)
  const api = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    raw.send(method, `/api/v1/orgs/${t.orgId}${path}`, { authorization: `Bearer ${key}`, ...headers }, body)
  const typed = (type: string | null): Record<string, string> => (type === null ? {} : { 'content-type': type })
  const expectScimError = (r: Answer, status: number) => {
    expect(r.status, r.text).toBe(status)
    expect(String(r.headers['content-type'])).toBe('application/scim+json')
    const body = jsonBody(r.text)
    expect(body).toMatchObject({ schemas: [ERROR], status: String(status) })
    expect(typeof body.detail).toBe('string')
  }
  const expectApiError = (r: Answer, status: number, error: string) => {
    expect(r.status, r.text).toBe(status)
    expect(String(r.headers['content-type'])).toMatch(/^application\/json/)
    expect(jsonBody(r.text)).toEqual({ error, message: expect.any(String) as string })
  }
  const found = async (userName: string) =>
    jsonBody((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, {})).text).totalResults

  it('SCIM: POST, PUT, PATCH, /.search and /Bulk with a body of another type, or of none, are 415 with a SCIM body; nothing is written', async () => {
    const c = await scim('POST', '/Users', { 'content-type': 'application/scim+json' }, JSON.stringify(user('held@example.com')))
    expect(c.status, c.text).toBe(201)
    const id = String(jsonBody(c.text).id)
    const etag = c.headers.etag
    const writes: [string, string, unknown][] = [
      ['POST', '/Users', user('refused@example.com')],
      ['PUT', `/Users/${id}`, user('held@example.com', { displayName: 'Refused' })],
      ['PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Refused' })],
      ['POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName pr' }],
      ['POST', '/Bulk', { schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', bulkId: 'b', data: user('refused.bulk@example.com') }] }],
    ]
    for (const [method, path, body] of writes) {
      for (const form of REFUSED) {
        const r = await scim(method, path, typed(form.type), form.body(JSON.stringify(body)))
        expectScimError(r, 415)
        expect(jsonBody(r.text).detail).toBe('Send application/scim+json or application/json')
      }
    }
    expect(await found('refused@example.com')).toBe(0)
    expect(await found('refused.bulk@example.com')).toBe(0)
    expect((await scim('GET', `/Users/${id}`, {})).headers.etag).toBe(etag)
  })

  it('SCIM: application/scim+json and application/json, with a charset or without, are read; a DELETE without a body needs no type', async () => {
    for (const [i, type] of ['application/scim+json; charset=utf-8', 'application/json; charset=utf-8', 'application/json', 'Application/SCIM+JSON'].entries()) {
      const c = await scim('POST', '/Users', { 'content-type': type }, JSON.stringify(user(`typed${i}@example.com`)))
      expect(c.status, `${type}: ${c.text}`).toBe(201)
      const id = String(jsonBody(c.text).id)
      const p = await scim('PATCH', `/Users/${id}`, { 'content-type': type }, JSON.stringify(patchOp({ op: 'replace', path: 'title', value: type })))
      expect(p.status, p.text).toBe(200)
      expect(jsonBody(p.text).title).toBe(type)
      expect((await scim('DELETE', `/Users/${id}`, {})).status).toBe(204)
    }
  })

  it('SCIM: an Accept that admits no JSON is 406 with a SCIM body, before anything is written; */*, either JSON type or none is answered', async () => {
    for (const accept of ['application/xml', 'text/html', 'application/scim+json;q=0, application/json;q=0']) {
      expectScimError(await scim('GET', '/Users?count=1', { accept }), 406)
      const post = await scim('POST', '/Users', { accept, 'content-type': 'application/scim+json' }, JSON.stringify(user('not.acceptable@example.com')))
      expectScimError(post, 406)
      expect(jsonBody(post.text).detail).toBe(`Accept: ${JSON.stringify(accept)} admits no type this server answers; SCIM answers application/scim+json (accept it, application/json or */*, or send no Accept)`)
      // Discovery, readable without a token, and the 404 of no endpoint, alike.
      expectScimError(await raw.send('GET', '/scim/v2/ServiceProviderConfig', { accept }), 406)
      expectScimError(await scim('GET', '/Nowhere', { accept }), 406)
    }
    expect(await found('not.acceptable@example.com')).toBe(0)
    // Without a token the answer is the 401, whatever the Accept.
    expectScimError(await raw.send('GET', '/scim/v2/Users', { accept: 'application/xml' }), 401)
    for (const accept of [null, '*/*', 'application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'application/*', 'text/html, */*;q=0.1', 'application/xml, application/json;q=0.5']) {
      const r = await scim('GET', '/Users?count=1', accept === null ? {} : { accept })
      expect(r.status, `${String(accept)}: ${r.text}`).toBe(200)
      expect(r.headers['content-type']).toBe('application/scim+json')
    }
  })

  it('/api/v1: a body of another type, or of none, is 415 bad_request (text/plain too); application/json with a charset is read', async () => {
    for (const form of REFUSED) {
      const r = await api('POST', '/users', typed(form.type), form.body(JSON.stringify({ userName: 'api.refused@example.com' })))
      expectApiError(r, 415, 'bad_request')
    }
    expectApiError(await api('POST', '/users', { 'content-type': 'application/scim+json' }, JSON.stringify({ userName: 'api.refused@example.com' })), 415, 'bad_request')
    expectApiError(await api('PATCH', '/settings', { 'content-type': 'text/plain' }, JSON.stringify({ subdomains: true })), 415, 'bad_request')
    expect(await found('api.refused@example.com')).toBe(0)
    const ok = await api('POST', '/users', { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ userName: 'api.typed@example.com' }))
    expect(ok.status, ok.text).toBe(201)
  })

  it('/api/v1: an Accept that admits no JSON is 406 not_acceptable; */*, application/json or none is answered; the reference page is HTML', async () => {
    for (const accept of ['application/xml', 'application/scim+json', 'text/html']) {
      const r = await api('GET', '/users', { accept })
      expectApiError(r, 406, 'not_acceptable')
      expect(jsonBody(r.text).message).toBe(`Accept: ${JSON.stringify(accept)} admits no type this API answers; it answers application/json (accept it or */*, or send no Accept)`)
      expectApiError(await api('POST', '/users', { accept, 'content-type': 'application/json' }, JSON.stringify({ userName: 'api.not.acceptable@example.com' })), 406, 'not_acceptable')
    }
    expect(await found('api.not.acceptable@example.com')).toBe(0)
    expectApiError(await raw.send('GET', `/api/v1/orgs/${t.orgId}/users`, { accept: 'application/xml' }), 401, 'unauthorized')
    for (const accept of [null, '*/*', 'application/json', 'application/json; charset=utf-8', 'text/html, */*;q=0.1']) {
      const r = await api('GET', '/users', accept === null ? {} : { accept })
      expect(r.status, `${String(accept)}: ${r.text}`).toBe(200)
    }
    const page = await raw.send('GET', '/api/v1/reference', { accept: 'text/html' })
    expect(page.status).toBeLessThan(400)
  })
})
