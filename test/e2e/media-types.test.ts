// Media types through every request form, on SCIM and on the directory API, over a raw socket so
// that a request without a Content-Type is really sent without one. SCIM reads
// application/scim+json (RFC 7644 §3.1, §8.1) and application/json, with or without a charset;
// /api/v1 reads application/json. Any other body type, or a body without a type, is 415 with the
// surface's error body (RFC 9110 §15.5.16), and nothing is written.
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
})
