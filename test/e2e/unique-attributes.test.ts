// Uniqueness of declared attributes (RFC 7643 §2.4 `uniqueness`, docs/custom-attributes.md) on each
// store, through the HTTP server: a create, PUT, PATCH or Bulk operation that would make two
// resources of an organization share a value answers 409 `uniqueness` naming the attribute (RFC 7644
// §3.3, §3.12) and writes nothing; values compare as their type does (caseExact, numbers, instants);
// a value is released by the change or the delete that lets go of it; a declaration over duplicate
// values is refused with their count; removing the uniqueness or the schema drops the constraint;
// a write validated before a declaration changed runs again under the new one; parallel creates of
// one value (on PostgreSQL through two servers) leave exactly one holder, and so does a declaration
// racing with them (docs/architecture.md ROS-5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { createUser, patchUser } from '../../src/provisioning/users.ts'
import { userResource } from '../../src/scim/schema/registry.ts'
import { ScimError } from '../../src/scim/errors.ts'
import type { OrgId } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall } from '../helpers/api-client.ts'
import { remembering, storeMatrix, type StoreFactory } from '../helpers/stores.ts'

type Json = Record<string, unknown>
const EXT = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User'
const GROUP_EXT = 'urn:ietf:params:scim:schemas:extension:acme:2.0:Group'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

const declaration = (uniqueness: string = 'server') => ({
  id: EXT,
  attributes: [
    { name: 'badge', type: 'string', uniqueness },
    { name: 'code', type: 'string', caseExact: true, uniqueness },
    { name: 'employeeNo', type: 'integer', uniqueness },
    { name: 'hired', type: 'dateTime', uniqueness: uniqueness === 'none' ? 'none' : 'global' },
    { name: 'note', type: 'string' },
  ],
})

/** A second server on the same PostgreSQL database (its own pool), or none on SQLite. */
function secondServer(factory: StoreFactory, url: () => string): StoreFactory | null {
  if (factory.name !== 'postgres') return null
  return {
    name: 'postgres',
    async open() {
      const { openPostgresStore } = await import('../../src/store/dialect/postgres.ts')
      const store = await openPostgresStore({ url: url(), poolSize: 8 })
      return { store, url: url(), cleanup: () => store.close() }
    },
  }
}

describe.each(storeMatrix())('unique declared attributes on $name', (base) => {
  let t: TestApp
  let other: TestApp | null = null
  let n = 0
  const remembered = remembering(base)

  interface Org { id: OrgId; token: string; key: string }
  const newOrg = async (): Promise<Org> => {
    const o = await t.newOrg(`unique-${++n}-${Date.now()}`)
    const key = (await createApiKey(t.deps, { name: `unique-${n}-key`, orgId: o.orgId, scopes: ['*'], expiresAt: null })).key
    return { id: o.orgId, token: o.token, key }
  }
  const api = (method: 'GET' | 'POST' | 'DELETE', path: string, key: string, body?: unknown) => apiCall(t, method, path, key, body)
  const declare = (o: Org, body: unknown) => api('POST', `/orgs/${o.id}/schemas`, o.key, body)
  const scim = (o: Org, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, via: TestApp = t) => via.req(method, path, body, { token: o.token })
  const withExt = (userName: string, ext: Json) => user(userName, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT], [EXT]: ext })
  const create = async (o: Org, userName: string, ext: Json) => {
    const r = await scim(o, 'POST', '/Users', withExt(userName, ext))
    expect(r.status, r.text).toBe(201)
    return String(r.json.id)
  }
  const expect409 = (r: { status: number; json: Json; text: string }, attr: string) => {
    expect(r.status, r.text).toBe(409)
    expect(r.json.scimType).toBe('uniqueness')
    expect(String(r.json.detail)).toContain(`${EXT}:${attr}`)
  }
  const count = async (o: Org, filter: string) => {
    const r = await scim(o, 'GET', `/Users?filter=${encodeURIComponent(filter)}&count=0`)
    expect(r.status, r.text).toBe(200)
    return Number(r.json.totalResults)
  }

  beforeAll(async () => {
    t = await startApp(remembered.factory)
    const second = secondServer(base, remembered.url)
    if (second) other = await startApp(second)
  })
  afterAll(async () => {
    await other?.close()
    await t.close()
  })

  it('a create holding a value another user holds is a 409 naming the attribute; values compare as their type does', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const schema = await scim(o, 'GET', `/Schemas/${EXT}`)
    expect((schema.json.attributes as Json[]).map((a) => a.uniqueness)).toEqual(['server', 'server', 'server', 'global', 'none'])
    const a = await create(o, 'a@example.com', { badge: 'AB-1', code: 'X', employeeNo: 7, hired: '2024-01-01T00:00:00Z' })
    // caseExact false: folded as userName is; the holder is named.
    const r = await scim(o, 'POST', '/Users', withExt('b@example.com', { badge: 'ab-1' }))
    expect409(r, 'badge')
    expect(String(r.json.detail)).toContain(a)
    expect(await count(o, 'userName eq "b@example.com"')).toBe(0)
    // caseExact true: another case is another value.
    await create(o, 'c@example.com', { code: 'x' })
    expect409(await scim(o, 'POST', '/Users', withExt('d@example.com', { code: 'X' })), 'code')
    expect409(await scim(o, 'POST', '/Users', withExt('e@example.com', { employeeNo: 7 })), 'employeeNo')
    // One instant, another offset ("global" is enforced as "server").
    expect409(await scim(o, 'POST', '/Users', withExt('f@example.com', { hired: '2024-01-01T01:00:00+01:00' })), 'hired')
    // Attributes not declared unique, and other organizations, are free.
    await create(o, 'g@example.com', { note: 'AB-1', employeeNo: 8 })
    const p = await newOrg()
    expect((await declare(p, declaration())).status).toBe(201)
    await create(p, 'a@example.com', { badge: 'AB-1', code: 'X', employeeNo: 7 })
  })

  it('PUT and PATCH are refused the same way without half-writing; a changed or deleted holder releases its value', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const a = await create(o, 'a@example.com', { badge: 'A-1', employeeNo: 1 })
    const b = await create(o, 'b@example.com', { badge: 'B-1', employeeNo: 2 })
    expect409(await scim(o, 'PATCH', `/Users/${b}`, patchOp({ op: 'replace', path: 'displayName', value: 'Bee' }, { op: 'replace', path: `${EXT}:badge`, value: 'a-1' })), 'badge')
    expect409(await scim(o, 'PUT', `/Users/${b}`, { ...withExt('b@example.com', { badge: 'B-1', employeeNo: 1 }), displayName: 'Bee' }), 'employeeNo')
    const kept = await scim(o, 'GET', `/Users/${b}`)
    expect(kept.json[EXT]).toEqual({ badge: 'B-1', employeeNo: 2 })
    expect(kept.json.displayName).toBeUndefined()
    // A moves to another badge: its old one is free.
    expect((await scim(o, 'PATCH', `/Users/${a}`, patchOp({ op: 'replace', path: `${EXT}:badge`, value: 'A-2' }))).status).toBe(200)
    expect((await scim(o, 'PATCH', `/Users/${b}`, patchOp({ op: 'replace', path: `${EXT}:badge`, value: 'A-1' }))).status).toBe(200)
    // Removing a value frees it; deleting the holder frees its values.
    expect((await scim(o, 'PATCH', `/Users/${a}`, patchOp({ op: 'remove', path: `${EXT}:employeeNo` }))).status).toBe(200)
    await create(o, 'c@example.com', { employeeNo: 1 })
    expect((await scim(o, 'DELETE', `/Users/${b}`)).status).toBe(204)
    await create(o, 'd@example.com', { badge: 'a-1', employeeNo: 2 })
  })

  it('a directory API change of a user keeps its declared values and their unique entries', async () => {
    // The directory API validated against the standard User only: a metadata or nickName change
    // erased the declared values, while the unique index still named the user as their holder.
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const e = await create(o, 'erin@example.com', { badge: 'E-1', employeeNo: 5 })
    const changed = await apiCall(t, 'PATCH', `/orgs/${o.id}/users/${e}`, o.key, { metadata: { seat: 12 } })
    expect(changed.status, JSON.stringify(changed.json)).toBe(200)
    const kept = await scim(o, 'GET', `/Users/${e}`)
    expect(kept.json[EXT]).toEqual({ badge: 'E-1', employeeNo: 5 })
    expect409(await scim(o, 'POST', '/Users', withExt('other@example.com', { badge: 'e-1' })), 'badge')
    // Changed again through the API, the user still holds its values; deleted, it frees them.
    expect((await apiCall(t, 'PATCH', `/orgs/${o.id}/users/${e}`, o.key, { nickName: 'Ery', locale: 'en-GB' })).status).toBe(200)
    expect((await scim(o, 'GET', `/Users/${e}`)).json).toMatchObject({ nickName: 'Ery', locale: 'en-GB', [EXT]: { badge: 'E-1', employeeNo: 5 } })
    expect409(await scim(o, 'POST', '/Users', withExt('other@example.com', { employeeNo: 5 })), 'employeeNo')
    expect((await scim(o, 'DELETE', `/Users/${e}`)).status).toBe(204)
    await create(o, 'other@example.com', { badge: 'e-1', employeeNo: 5 })
  })

  it('Bulk: of two creates of one value the first in request order wins, the second is a 409; a group extension is unique among groups', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const bulk = await scim(o, 'POST', '/Bulk', {
      schemas: [BULK],
      Operations: [1, 2].map((i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: withExt(`bulk${i}@example.com`, { badge: 'BULK' }) })),
    })
    expect(bulk.status, bulk.text).toBe(200)
    // The first in request order wins, as for two creates of one userName.
    const results = bulk.json.Operations as { status: string; response?: Json }[]
    expect(results.map((r) => r.status)).toEqual(['201', '409'])
    expect(results[1]?.response?.scimType).toBe('uniqueness')
    expect(await count(o, `${EXT}:badge eq "bulk"`)).toBe(1)

    expect((await declare(o, { id: GROUP_EXT, resourceType: 'Group', attributes: [{ name: 'costCode', uniqueness: 'server' }] })).status).toBe(201)
    const g = (name: string, costCode: string) => ({ schemas: [GROUP, GROUP_EXT], displayName: name, [GROUP_EXT]: { costCode } })
    expect((await scim(o, 'POST', '/Groups', g('One', 'CC-1'))).status).toBe(201)
    const dup = await scim(o, 'POST', '/Groups', g('Two', 'cc-1'))
    expect(dup.status, dup.text).toBe(409)
    expect(dup.json.scimType).toBe('uniqueness')
    expect(String(dup.json.detail)).toContain(`${GROUP_EXT}:costCode`)
    const two = await scim(o, 'POST', '/Groups', g('Two', 'CC-2'))
    expect(two.status).toBe(201)
    const patched = await scim(o, 'PATCH', `/Groups/${String(two.json.id)}`, patchOp({ op: 'replace', path: `${GROUP_EXT}:costCode`, value: 'CC-1' }))
    expect(patched.status, patched.text).toBe(409)
  })

  it('declaring uniqueness over duplicate values is refused with their count; removing it, or the schema, drops the constraint', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration('none'))).status).toBe(201)
    await create(o, 'a@example.com', { badge: 'SAME', employeeNo: 1 })
    const b = await create(o, 'b@example.com', { badge: 'same', employeeNo: 1 })
    await create(o, 'c@example.com', { badge: 'other', employeeNo: 2 })
    const refused = await declare(o, declaration())
    expect(refused.status, refused.text).toBe(400)
    const message = String(refused.json.message)
    expect(message).toContain('attributes[0].uniqueness')
    expect(message).toContain('1 value is held by more than one User')
    expect(message).toContain('"employeeNo" (1 value)')
    // Nothing of the refused declaration applies.
    expect(((await api('GET', `/orgs/${o.id}/schemas`, o.key)).json.data as { definition: { attributes: Json[] } }[])[0]?.definition.attributes[0]?.uniqueness).toBe('none')
    await create(o, 'd@example.com', { badge: 'other' })
    expect((await scim(o, 'DELETE', `/Users/${b}`)).status).toBe(204)
    const users = await scim(o, 'GET', `/Users?filter=${encodeURIComponent('userName eq "d@example.com"')}`)
    expect((await scim(o, 'DELETE', `/Users/${String((users.json.Resources as Json[])[0]?.id)}`)).status).toBe(204)
    // Declared over a replaced declaration: 200.
    expect((await declare(o, declaration())).status).toBe(200)
    expect409(await scim(o, 'POST', '/Users', withExt('e@example.com', { badge: 'Same' })), 'badge')
    // Uniqueness taken off: duplicates are accepted again.
    expect((await declare(o, declaration('none'))).status).toBe(200)
    await create(o, 'e@example.com', { badge: 'Same' })
    // Declared again over the new duplicate: refused; the schema removed: no constraint left.
    expect((await declare(o, declaration())).status).toBe(400)
    expect((await api('DELETE', `/orgs/${o.id}/schemas/${encodeURIComponent(EXT)}`, o.key)).status).toBe(204)
    expect((await scim(o, 'POST', '/Users', withExt('f@example.com', { badge: 'Same' }))).status).toBe(201)
  })

  it('a write validated with the declarations before a change runs again under the current ones', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const a = await create(o, 'a@example.com', { badge: 'STALE' })
    // The standard resource type is what a request validated with before the organization declared anything.
    const stale = userResource
    const dup = await createUser(t.deps, o.id, withExt('b@example.com', { badge: 'stale' }), undefined, stale).then(() => null, (e: unknown) => e)
    expect(dup).toBeInstanceOf(ScimError)
    expect((dup as ScimError).scimType).toBe('uniqueness')
    const b = await createUser(t.deps, o.id, withExt('b@example.com', { badge: 'other' }), undefined, stale)
    // Run under the current declarations: the value is indexed, so another holder is refused.
    expect(b.body[EXT]).toEqual({ badge: 'other' })
    const patch = await patchUser(t.deps, o.id, a, patchOp({ op: 'replace', path: `${EXT}:badge`, value: 'OTHER' }), undefined, undefined, stale).then(() => null, (e: unknown) => e)
    expect((patch as ScimError).scimType).toBe('uniqueness')
  })

  it('parallel creates of one value, through every server: exactly one succeeds', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration())).status).toBe(201)
    const servers = other ? [t, other] : [t]
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      scim(o, 'POST', '/Users', withExt(`race${i}@example.com`, { badge: i % 2 === 0 ? 'RACE' : 'race' }), servers[i % servers.length])))
    expect(results.filter((r) => r.status === 201)).toHaveLength(1)
    for (const r of results.filter((x) => x.status !== 201)) expect409(r, 'badge')
    expect(await count(o, `${EXT}:badge eq "race"`)).toBe(1)
  })

  it('a declaration racing with creates of one value: never two holders', async () => {
    const o = await newOrg()
    expect((await declare(o, declaration('none'))).status).toBe(201)
    const servers = other ? [t, other] : [t]
    const creates = Array.from({ length: 12 }, (_, i) =>
      scim(o, 'POST', '/Users', withExt(`decl${i}@example.com`, { badge: 'DECL' }), servers[i % servers.length]))
    const [declared, ...results] = await Promise.all([declare(o, declaration()), ...creates])
    expect(results.every((r) => r.status === 201 || r.status === 409), results.map((r) => r.status).join()).toBe(true)
    const holders = await count(o, `${EXT}:badge eq "decl"`)
    if (declared.status === 200) {
      // Declared: at most one holder, and every later create is refused.
      expect(holders).toBeLessThanOrEqual(1)
      expect((await scim(o, 'POST', '/Users', withExt('late@example.com', { badge: 'DECL' }))).status).toBe(holders === 1 ? 409 : 201)
    } else {
      // Refused because duplicates were there first.
      expect(declared.status, declared.text).toBe(400)
      expect(holders).toBeGreaterThan(1)
    }
  })
})
