// Hostile JSON bodies (test/reliability/lib/fuzz.ts hostileBodies: prototype keys at the top and
// nested, a duplicated key, 400-digit numbers, a lone surrogate, 10^5 nested arrays, 10^5 keys)
// on every write of SCIM's /Users and of /api/v1's users, through a listening server on both
// stores. Each is refused 400 with the surface's error (SCIM invalidSyntax or invalidValue;
// /api/v1 bad_request, invalid_parameter or invalid_body) or accepted as docs/security.md ("Hostile JSON")
// says; never a 5xx; and the server's Object.prototype is as it was (the app runs in this
// process, so the test can look).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { hostileBodies, type RawBody } from '../reliability/lib/fuzz.ts'

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const PATCHOP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

interface Target {
  readonly name: string
  readonly method: 'POST' | 'PUT' | 'PATCH'
  readonly path: string
  readonly scim: boolean
  readonly bodies: RawBody[]
}

/** What a body may be answered, by its name: refused everywhere, except the acceptances docs/security.md lists. */
function acceptable(body: string): readonly number[] {
  // Keys that are neither __proto__ nor constructor.prototype are ordinary unknown members
  // (SCIM ignores what it does not know where it may, /api/v1 refuses them: invalid_body); a
  // duplicated key is read as its last occurrence (RFC 8259 §4 leaves it to the parser).
  if (/^(constructor alone|prototype|duplicate \w+|10\^5 keys|10\^5 nested \[ in a value)$/.test(body)) return [200, 201, 400]
  return [400]
}

describe.each(storeMatrix())('hostile JSON on $name', (factory) => {
  let t: TestApp
  let base: string
  let targets: Target[]
  let apiKey = ''
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()

  beforeAll(async () => {
    t = await startApp(factory)
    base = await listening(t)
    const created = await t.req('POST', '/Users', user('hostile.target@example.com'))
    expect(created.status).toBe(201)
    const scimId = String(created.json.id)
    const key = (await createApiKey(t.deps, { name: 'writer', orgId: t.orgId, scopes: ['directory:read', 'directory:write'], expiresAt: null })).key
    const apiCreated = await fetch(`${base}/api/v1/orgs/${t.orgId}/users`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ userName: 'app.target@example.com' }) })
    expect(apiCreated.status).toBe(201)
    const apiId = String(((await apiCreated.json()) as { id: string }).id)
    let n = 0
    // Each body a userName of its own: a taken one would be 409, hiding what the body did.
    const fresh = (make: (userName: string, second: string) => RawBody[]): RawBody[] => make('', '').map((_, i) => make(`hostile${++n}@example.com`, `second${n}@example.com`)[i] as RawBody)
    targets = [
      { name: 'SCIM POST /Users', method: 'POST', path: '/scim/v2/Users', scim: true, bodies: fresh((u, v) => hostileBodies(`"userName":"${u}","schemas":["${USER}"]`, { key: 'userName', value: v })) },
      { name: 'SCIM PUT /Users/{id}', method: 'PUT', path: `/scim/v2/Users/${scimId}`, scim: true, bodies: fresh((_, v) => hostileBodies(`"userName":"hostile.target@example.com","schemas":["${USER}"]`, { key: 'userName', value: v })) },
      { name: 'SCIM PATCH /Users/{id}', method: 'PATCH', path: `/scim/v2/Users/${scimId}`, scim: true, bodies: hostileBodies(`"schemas":["${PATCHOP}"],"Operations":[{"op":"replace","path":"displayName","value":"d"}]`, { key: 'schemas', value: 'urn:bogus' }) },
      { name: 'API POST /users', method: 'POST', path: `/api/v1/orgs/${t.orgId}/users`, scim: false, bodies: fresh((u, v) => hostileBodies(`"userName":"${u}"`, { key: 'userName', value: v })) },
      { name: 'API PATCH /users/{id}', method: 'PATCH', path: `/api/v1/orgs/${t.orgId}/users/${apiId}`, scim: false, bodies: fresh((_, v) => hostileBodies('"displayName":"d"', { key: 'userName', value: v })) },
    ]
    apiKey = key
  }, 60_000)

  afterAll(async () => {
    await t.close()
  })

  it('every hostile body on every write is refused 400 with the surface\'s error or accepted as documented; never a 5xx; Object.prototype untouched', async () => {
    const key = apiKey
    for (const target of targets) {
      for (const body of target.bodies) {
        const r = await fetch(`${base}${target.path}`, {
          method: target.method,
          headers: { authorization: `Bearer ${target.scim ? t.token : key}`, 'content-type': target.scim ? 'application/scim+json' : 'application/json' },
          body: body.text,
        })
        const text = await r.text()
        const where = `${target.name} / ${body.name}: ${r.status} ${text.slice(0, 300)}`
        expect.soft(r.status, where).toBeLessThan(500)
        expect.soft(acceptable(body.name), where).toContain(r.status === 201 ? 201 : r.status)
        let json: Record<string, unknown> = {}
        try {
          json = JSON.parse(text) as Record<string, unknown>
        } catch {
          expect.soft(text, `${where}: not JSON`).toBe('JSON')
        }
        if (r.status === 400) {
          if (target.scim) {
            expect.soft(json.schemas, where).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error'])
            expect.soft(['invalidSyntax', 'invalidValue'], where).toContain(json.scimType)
          } else {
            expect.soft(['bad_request', 'invalid_parameter', 'invalid_body'], where).toContain(json.error)
          }
        } else {
          // Accepted: nothing of the prototype keys' objects is stored or answered.
          expect.soft(text, where).not.toContain('polluted')
        }
        expect(({} as Record<string, unknown>).polluted, where).toBeUndefined()
        expect(Object.getOwnPropertyNames(Object.prototype).sort(), where).toEqual(prototypeBefore)
      }
    }
  }, 120_000)
})
