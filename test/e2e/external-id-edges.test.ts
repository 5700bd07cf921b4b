// externalId is the provisioning client's opaque identifier (RFC 7643 §3.1): never read as the
// server's id. Grafana's CVE-2025-41115 let an externalId such as "1" map a SCIM user onto an
// existing internal user. Here, on both stores through a listening server: externalIds equal to
// "1", to another user's id, to another organization's user's id, 10 kB long, and a Unicode
// confusable of another externalId are stored and answered verbatim, `externalId eq` matches
// exactly the one user, and GET /Users/{externalId} never finds the user by its externalId.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

describe.each(storeMatrix())('externalId edge cases on $name', (factory) => {
  let t: TestApp
  let base: string
  const scim = async (method: string, path: string, body?: unknown, token = t.token) => {
    const r = await fetch(`${base}/scim/v2${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await r.text()
    return { status: r.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> & { Resources?: Record<string, unknown>[] } }
  }

  beforeAll(async () => {
    t = await startApp(factory)
    base = await listening(t)
  })
  afterAll(async () => {
    await t.close()
  })

  it('stores and answers each externalId verbatim, matches it exactly, and never resolves it as an id', async () => {
    const seed = await scim('POST', '/Users', user('seed@example.com', { externalId: 'seed' }))
    expect(seed.status).toBe(201)
    const seedId = String(seed.json.id)
    const other = await t.newOrg('external-id-other')
    const theirs = await scim('POST', '/Users', user('theirs@example.com'), other.token)
    expect(theirs.status).toBe(201)
    const theirId = String(theirs.json.id)
    const cases: [string, string][] = [
      ['"1"', '1'],
      ['another user\'s id', seedId],
      ['another organization\'s user\'s id', theirId],
      ['10 kB', 'x'.repeat(10_240)],
      // "seed" with a Cyrillic ѕ (U+0455) for the s: looks the same, is another value.
      ['a confusable of another externalId', '\u0455eed'],
    ]
    for (const [what, externalId] of cases) {
      const created = await scim('POST', '/Users', user(`ext-${cases.findIndex(([w]) => w === what)}@example.com`, { externalId }))
      expect(created.status, what).toBe(201)
      const id = String(created.json.id)
      expect(id, what).not.toBe(externalId)
      expect(created.json.externalId, what).toBe(externalId)
      expect((await scim('GET', `/Users/${id}`)).json.externalId, what).toBe(externalId)
      // POST /.search: a 10 kB value fits a filter (16,384 characters) but not every URL.
      const found = await scim('POST', '/Users/.search', { schemas: [SEARCH], filter: `externalId eq ${JSON.stringify(externalId)}`, attributes: ['id', 'externalId'] })
      expect(found.status, what).toBe(200)
      expect(found.json.Resources?.map((r) => [r.id, r.externalId]), what).toEqual([[id, externalId]])
      const byPath = await scim('GET', `/Users/${encodeURIComponent(externalId)}`)
      if (externalId === seedId) {
        // The path names an id: the user whose id it is, never the one holding it as externalId.
        expect(byPath.status, what).toBe(200)
        expect(byPath.json.id, what).toBe(seedId)
      } else {
        // An id longer than the router reads (200 characters) is 414 URI Too Long, also a SCIM error.
        expect(byPath.status, what).toBe(externalId.length > 200 ? 414 : 404)
        expect(byPath.json.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
      }
    }
    // The confusable matched only itself; the original still only the seed user.
    const original = await scim('POST', '/Users/.search', { schemas: [SEARCH], filter: 'externalId eq "seed"', attributes: ['id'] })
    expect(original.json.Resources?.map((r) => r.id)).toEqual([seedId])
    // The other organization's user is still its own, and not reachable from here by its id.
    expect((await scim('GET', `/Users/${theirId}`)).status).toBe(404)
    expect((await scim('GET', `/Users/${theirId}`, undefined, other.token)).json.externalId).toBeUndefined()
  })
})
