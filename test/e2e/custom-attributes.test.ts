// An organization's declared extension schemas end to end, on each store, through the HTTP
// server: declared through the API (each refusal a 400 naming the part at fault, nothing
// written), discovered per organization at /Schemas and /ResourceTypes with its token (RFC 7644
// §4), validated with the declared rules (400 invalidValue naming the attribute and the rule),
// stored, returned under the extension's URN (RFC 7643 §3.3) except what is never returned,
// filtered and sorted in SQL (RFC 7644 §3.4.2.2, §3.4.2.3), PATCHed by every path form (RFC 7644
// §3.5.2), carried into the directory API and the events; undeclared attributes kept for the
// application and noted in the provisioning log, or refused in strict mode; a removed
// declaration's values hidden until it is declared again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { FeedReader, apiCall, apiGet, type FeedEvent } from '../helpers/api-client.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

type Json = Record<string, unknown>
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error'
const EXT = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'
const GROUP_EXT = 'urn:example:params:scim:schemas:extension:acme:2.0:Group'

/** An Entra ID-style custom extension (Microsoft Learn, "Customize user provisioning attribute-mappings"). */
const declaration = {
  id: EXT,
  name: 'CustomExtension',
  description: 'Attributes Acme\'s Entra ID mapping sends',
  attributes: [
    { name: 'costCenter', type: 'string', maxLength: 8, pattern: '^[A-Z]{2}-\\d+$' },
    { name: 'badge', type: 'string', allowedCharacters: 'A-Za-z0-9' },
    { name: 'level', type: 'integer' },
    { name: 'contractor', type: 'boolean' },
    { name: 'tags', type: 'string', multiValued: true },
    { name: 'office', type: 'complex', subAttributes: [{ name: 'building', type: 'string' }, { name: 'floor', type: 'integer' }] },
    { name: 'clearance', type: 'string', canonicalValues: ['low', 'high'] },
    { name: 'secretCode', type: 'string', returned: 'never' },
  ],
}

describe.each(storeMatrix())('declared extension schemas on $name', (factory) => {
  let t: TestApp
  let n = 0

  interface Org { id: OrgId; name: string; token: string; key: string; feed: FeedReader }
  const newOrg = async (label: string): Promise<Org> => {
    const name = `${label}-${++n}`
    const o = await t.newOrg(name)
    const key = (await createApiKey(t.deps, { name: `${name}-key`, orgId: o.orgId, scopes: ['*'], expiresAt: null })).key
    return { id: o.orgId, name, token: o.token, key, feed: new FeedReader(apiGet(t, () => key), o.orgId) }
  }
  const api = (method: 'GET' | 'POST' | 'DELETE', path: string, key: string, body?: unknown) => apiCall(t, method, path, key, body)
  const declare = (o: Org, body: unknown) => api('POST', `/orgs/${o.id}/schemas`, o.key, body)
  const scim = (o: Org, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) => t.req(method, path, body, { token: o.token })
  const listIds = async (o: Org, query: string) => {
    const r = await scim(o, 'GET', `/Users?${query}`)
    expect(r.status, r.text).toBe(200)
    return (r.json.Resources ?? []).map((u) => u.userName)
  }
  const untilOrgUpdate = async (o: Org): Promise<FeedEvent[]> => {
    const out: FeedEvent[] = []
    const deadline = Date.now() + 10_000
    while (!out.some((e) => e.type === 'organization.updated') && Date.now() < deadline) out.push(...(await o.feed.take(1, { timeoutMs: 2_000 })))
    return out
  }

  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  it('a declaration is stored with its defaults written out, audited, announced; the same one again writes nothing', async () => {
    const o = await newOrg('declare')
    const r = await declare(o, declaration)
    expect(r.status, r.text).toBe(201)
    expect(r.json).toMatchObject({ id: EXT, resourceType: 'User' })
    const attrs = (r.json.definition as { attributes: Json[] }).attributes
    expect(attrs[0]).toEqual({
      name: 'costCenter', type: 'string', description: '', multiValued: false, required: false, caseExact: false,
      mutability: 'readWrite', returned: 'default', uniqueness: 'none', maxLength: 8, pattern: '^[A-Z]{2}-\\d+$',
    })
    const events = await untilOrgUpdate(o)
    const updated = events.find((e) => e.type === 'organization.updated') as FeedEvent
    expect(updated.data).toMatchObject({ changes: ['schemas'], schemas: [EXT] })
    const audit = (await api('GET', `/orgs/${o.id}/audit`, o.key)).json.data as Json[]
    expect(audit[0]).toMatchObject({ action: 'organization.schema_declared', details: { schema: EXT, resourceType: 'User', replaced: false } })

    const again = await declare(o, declaration)
    expect(again.status, again.text).toBe(200)
    expect((await api('GET', `/orgs/${o.id}/audit`, o.key)).json.data).toHaveLength(1)
    const list = await api('GET', `/orgs/${o.id}/schemas`, o.key)
    expect((list.json.data as Json[]).map((s) => s.id)).toEqual([EXT])
  })

  it('refuses a declaration that is not valid with a 400 naming the part at fault, and writes nothing', async () => {
    const o = await newOrg('refuse')
    const cases: [unknown, string][] = [
      [{ ...declaration, id: 'not a urn' }, 'id'],
      [{ ...declaration, id: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' }, 'standard schema'],
      [{ ...declaration, attributes: [{ name: 'x', type: 'string', pattern: '^(a+)+$' }] }, 'attributes[0].pattern'],
      [{ ...declaration, attributes: [{ name: 'x', type: 'string', pattern: '(a|aa)*' }] }, 'exponential'],
      [{ ...declaration, attributes: [{ name: 'x', type: 'string', pattern: '(\\w)\\1' }] }, 'back-reference'],
      [{ ...declaration, attributes: [{ name: 'x', type: 'complex', subAttributes: [{ name: 'y', type: 'complex', subAttributes: [{ name: 'z' }] }] }] }, 'RFC 7643 §2.3.8'],
      [{ ...declaration, attributes: [{ name: 'x' }, { name: 'X' }] }, 'declared twice'],
      [{ ...declaration, attributes: [{ name: 'x', uniqueness: 'server', multiValued: true }] }, 'attributes[0].uniqueness'],
      [{ ...declaration, attributes: [{ name: 'x', type: 'integer', maxLength: 3 }] }, 'attributes[0].maxLength'],
      [{ ...declaration, attributes: [{ name: 'x', allowedCharacters: 'a-z]|(.*' }] }, 'allowedCharacters'],
      [{ ...declaration, attributes: [{ name: '1x' }] }, 'attributes[0].name'],
      [{ ...declaration, resourceType: 'Device' }, 'resourceType'],
    ]
    for (const [body, mention] of cases) {
      const r = await declare(o, body)
      expect(r.status, r.text).toBe(400)
      expect(r.json).toMatchObject({ error: 'invalid_parameter' })
      expect(JSON.stringify(r.json)).toContain(mention)
    }
    expect((await api('GET', `/orgs/${o.id}/schemas`, o.key)).json.data).toEqual([])
    expect((await api('GET', `/orgs/${o.id}/audit`, o.key)).json.data).toEqual([])
  })

  it('discovery with the organization\'s token lists its extension; without a token, or with another organization\'s, it does not', async () => {
    const o = await newOrg('discover')
    const other = await newOrg('discover-other')
    expect((await declare(o, declaration)).status).toBe(201)
    const schemas = await scim(o, 'GET', '/Schemas')
    expect(schemas.status, schemas.text).toBe(200)
    const ext = (schemas.json.Resources ?? []).find((s) => s.id === EXT)
    expect(ext).toMatchObject({ id: EXT, name: 'CustomExtension', attributes: expect.arrayContaining([expect.objectContaining({ name: 'office', type: 'complex' })]) })
    const one = await scim(o, 'GET', `/Schemas/${EXT}`)
    expect(one.status, one.text).toBe(200)
    const rt = await scim(o, 'GET', '/ResourceTypes/User')
    expect(rt.json.schemaExtensions).toEqual([
      { schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false },
      { schema: EXT, required: false },
    ])
    for (const token of [null, other.token]) {
      const r = await t.req('GET', '/Schemas', undefined, { token })
      expect((r.json.Resources ?? []).map((s) => s.id)).not.toContain(EXT)
      expect((await t.req('GET', `/Schemas/${EXT}`, undefined, { token })).status).toBe(404)
    }
    expect((await t.req('GET', '/Schemas', undefined, { token: 'roster_scim_not-a-real-token-at-all-000000000000000' })).status).toBe(401)
  })

  it('stores, validates, returns, filters, sorts and patches the declared attributes', async () => {
    const o = await newOrg('values')
    expect((await declare(o, declaration)).status).toBe(201)
    const ada = await scim(o, 'POST', '/Users', user('ada@example.com', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', EXT],
      [EXT]: { costCenter: 'AB-12', badge: 'A1b2', level: 3, contractor: false, tags: ['x', 'y'], office: { building: 'North', floor: 4 }, clearance: 'HIGH', secretCode: 's3cret' },
    }))
    expect(ada.status, ada.text).toBe(201)
    expect(ada.json.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', EXT])
    expect(ada.json[EXT]).toEqual({ costCenter: 'AB-12', badge: 'A1b2', level: 3, contractor: false, tags: ['x', 'y'], office: { building: 'North', floor: 4 }, clearance: 'HIGH' })
    const id = ada.json.id as string
    const got = await scim(o, 'GET', `/Users/${id}`)
    expect(got.json[EXT]).toEqual(ada.json[EXT])
    expect(got.text).not.toContain('s3cret')
    const grace = await scim(o, 'POST', '/Users', user('grace@example.com', { [EXT]: { costCenter: 'CD-7', level: 1, office: { floor: 1 } } }))
    expect(grace.status, grace.text).toBe(201)

    // Each declared rule refuses with its own words; nothing is written.
    const refusals: [Json, string][] = [
      [{ costCenter: 'ABCDE-123' }, 'at most 8 characters'],
      [{ costCenter: 'ab-12' }, 'must match the pattern'],
      [{ badge: 'a-b' }, 'may hold only the characters'],
      [{ clearance: 'medium' }, 'must be one of "low", "high"'],
      [{ level: 'three' }, 'must be an integer'],
    ]
    for (const [ext, words] of refusals) {
      const r = await scim(o, 'POST', '/Users', user('bad@example.com', { [EXT]: ext }))
      expect(r.status, r.text).toBe(400)
      expect(r.json).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' })
      expect(r.json.detail).toContain(`${EXT}:${Object.keys(ext)[0]}`)
      expect(r.json.detail).toContain(words)
    }
    expect(await listIds(o, `filter=${encodeURIComponent('userName eq "bad@example.com"')}`)).toEqual([])

    // Filters and sorting name the attributes with their URN, compiled to SQL.
    const q = (f: string) => `filter=${encodeURIComponent(f)}`
    expect(await listIds(o, q(`${EXT}:costCenter eq "AB-12"`))).toEqual(['ada@example.com'])
    expect(await listIds(o, q(`${EXT}:costCenter eq "ab-12"`))).toEqual(['ada@example.com'])
    expect(await listIds(o, q(`${EXT}:office.floor gt 2`))).toEqual(['ada@example.com'])
    expect(await listIds(o, q(`${EXT}:tags eq "y"`))).toEqual(['ada@example.com'])
    expect(await listIds(o, q(`${EXT}:contractor pr`))).toEqual(['ada@example.com'])
    expect(await listIds(o, q(`not (${EXT}:level ge 2)`))).toEqual(['grace@example.com'])
    expect(await listIds(o, `sortBy=${encodeURIComponent(`${EXT}:level`)}&sortOrder=descending`)).toEqual(['ada@example.com', 'grace@example.com'])
    const bad = await scim(o, 'GET', `/Users?${q(`${EXT}:nothing eq "x"`)}`)
    expect(bad.status).toBe(400)
    expect(bad.json.scimType).toBe('invalidFilter')

    // PATCH: the attribute path, a sub-attribute, a value object keyed by the URN, remove.
    const patched = await scim(o, 'PATCH', `/Users/${id}`, patchOp(
      { op: 'replace', path: `${EXT}:costCenter`, value: 'ZZ-9' },
      { op: 'replace', path: `${EXT}:office.floor`, value: 5 },
      { op: 'add', value: { [EXT]: { tags: ['z'] } } },
      { op: 'remove', path: `${EXT}:badge` },
    ))
    expect(patched.status, patched.text).toBe(200)
    expect(patched.json[EXT]).toMatchObject({ costCenter: 'ZZ-9', office: { building: 'North', floor: 5 }, tags: ['x', 'y', 'z'] })
    expect(patched.json[EXT]).not.toHaveProperty('badge')
    const refused = await scim(o, 'PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: `${EXT}:costCenter`, value: 'nope' }))
    expect(refused.status).toBe(400)
    expect((await scim(o, 'GET', `/Users/${id}`)).json[EXT]).toMatchObject({ costCenter: 'ZZ-9' })

    // The directory API and the events carry them under `extensions`.
    const dir = await api('GET', `/orgs/${o.id}/users/${id}`, o.key)
    expect(dir.status, dir.text).toBe(200)
    expect((dir.json.extensions as Json)[EXT]).toMatchObject({ costCenter: 'ZZ-9', office: { floor: 5 } })
    const viaFilter = await api('GET', `/orgs/${o.id}/users?filter=${encodeURIComponent(`${EXT}:costCenter eq "ZZ-9"`)}`, o.key)
    expect(viaFilter.status, viaFilter.text).toBe(200)
    expect((viaFilter.json.data as Json[]).map((u) => u.id)).toEqual([id])
    const events = await o.feed.take(20, { timeoutMs: 2_000 })
    const created = events.find((e) => e.type === 'user.created' && (e.data as Json).id === id) as FeedEvent
    expect(((created.data as Json).extensions as Json)[EXT]).toMatchObject({ costCenter: 'AB-12' })
  })

  it('keeps undeclared attributes for the application with a note in the log, or refuses them in strict mode', async () => {
    const o = await newOrg('undeclared')
    const r = await scim(o, 'POST', '/Users', user('kept@example.com', { favoriteColor: 'green' }))
    expect(r.status, r.text).toBe(201)
    expect(r.json).not.toHaveProperty('favoriteColor')
    const dir = await api('GET', `/orgs/${o.id}/users/${r.json.id as string}`, o.key)
    expect(dir.json.customAttributes).toEqual({ favoriteColor: 'green' })
    const log = await api('GET', `/orgs/${o.id}/provisioning-log?limit=5`, o.key)
    const row = (log.json.items as Json[]).find((i) => i.resourceId === r.json.id) as Json
    expect(JSON.stringify(row.notes)).toContain('\\"favoriteColor\\" is not declared by the User schemas: kept as a custom attribute')

    const strict = await t.app.inject({
      method: 'PATCH', url: `/api/v1/orgs/${o.id}/settings`, headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ strictAttributes: true }),
    })
    expect(strict.statusCode, strict.body).toBe(200)
    expect(JSON.parse(strict.body).strictAttributes).toBe(true)
    const refused = await scim(o, 'POST', '/Users', user('strict@example.com', { favoriteColor: 'red', shoeSize: 9 }))
    expect(refused.status, refused.text).toBe(400)
    expect(refused.json).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' })
    expect(refused.json.detail).toContain('"favoriteColor", "shoeSize"')
    expect(await listIds(o, `filter=${encodeURIComponent('userName eq "strict@example.com"')}`)).toEqual([])
    const put = await scim(o, 'PUT', `/Users/${r.json.id as string}`, user('kept@example.com', { favoriteColor: 'blue' }))
    expect(put.status, put.text).toBe(400)
    expect((await api('GET', `/orgs/${o.id}/users/${r.json.id as string}`, o.key)).json.customAttributes).toEqual({ favoriteColor: 'green' })
    const group = await scim(o, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Strict', region: 'eu' })
    expect(group.status, group.text).toBe(400)
    expect(group.json.detail).toContain('"region"')
    // Declared attributes pass in strict mode.
    expect((await declare(o, declaration)).status).toBe(201)
    const ok = await scim(o, 'POST', '/Users', user('declared@example.com', { [EXT]: { level: 2 } }))
    expect(ok.status, ok.text).toBe(201)
  })

  it('the attribute mapping shows the SCIM attributes under the application\'s field names, in the directory API and the events', async () => {
    const o = await newOrg('mapping')
    expect((await declare(o, declaration)).status).toBe(201)
    const settings = (body: unknown) => t.app.inject({
      method: 'PATCH', url: `/api/v1/orgs/${o.id}/settings`, headers: { authorization: `Bearer ${o.key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body),
    })
    for (const bad of [{ 'not a path!': 'x' }, { title: '1field' }, { title: 'same', nickName: 'same' }, ['title']]) {
      const r = await settings({ attributeMapping: bad })
      expect(r.statusCode, r.body).toBe(400)
      expect(r.body).toContain('attributeMapping')
    }
    const mapping = {
      title: 'jobTitle', 'name.givenName': 'firstName', emails: 'email', 'phoneNumbers.type': 'phoneType',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'department', [`${EXT.toLowerCase()}:COSTCENTER`]: 'costCenter', [`${EXT}:office.floor`]: 'floor', nickName: 'nick',
    }
    const set = await settings({ attributeMapping: mapping })
    expect(set.statusCode, set.body).toBe(200)
    expect(JSON.parse(set.body).attributeMapping).toEqual(mapping)

    const created = await scim(o, 'POST', '/Users', user('mapped@example.com', {
      title: 'Engineer', emails: [{ value: 'other@example.com', type: 'home' }, { value: 'mapped@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
      [EXT]: { costCenter: 'AB-12', office: { floor: 3 } },
    }))
    expect(created.status, created.text).toBe(201)
    const id = created.json.id as string
    const want = { jobTitle: 'Engineer', firstName: 'Ada', email: 'mapped@example.com', phoneType: 'mobile', department: 'R&D', costCenter: 'AB-12', floor: 3, nick: null }
    expect((await api('GET', `/orgs/${o.id}/users/${id}`, o.key)).json.fields).toEqual(want)
    expect(((await api('GET', `/orgs/${o.id}/users`, o.key)).json.data as Json[])[0]?.fields).toEqual(want)
    const patched = await scim(o, 'PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Lead' }))
    expect(patched.status, patched.text).toBe(200)
    const events = await o.feed.take(20, { timeoutMs: 2_000 })
    const ofUser = events.filter((e) => (e.data as Json).id === id)
    expect((ofUser.find((e) => e.type === 'user.created')?.data as Json).fields).toEqual(want)
    expect((ofUser.find((e) => e.type === 'user.updated')?.data as Json).fields).toEqual({ ...want, jobTitle: 'Lead' })
  })

  it('a removed declaration\'s values are hidden over SCIM and show again when it is declared again; groups take extensions too', async () => {
    const o = await newOrg('remove')
    expect((await declare(o, declaration)).status).toBe(201)
    const u = await scim(o, 'POST', '/Users', user('keep@example.com', { [EXT]: { level: 7 } }))
    expect(u.status, u.text).toBe(201)
    const id = u.json.id as string
    const del = await api('DELETE', `/orgs/${o.id}/schemas/${encodeURIComponent(EXT)}`, o.key)
    expect(del.status, del.text).toBe(204)
    expect((await api('DELETE', `/orgs/${o.id}/schemas/${encodeURIComponent(EXT)}`, o.key)).status).toBe(404)
    const hidden = await scim(o, 'GET', `/Users/${id}`)
    expect(hidden.json).not.toHaveProperty(EXT)
    expect(hidden.json.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User'])
    const listed = await scim(o, 'GET', `/Users?filter=${encodeURIComponent('userName eq "keep@example.com"')}`)
    expect(listed.json.Resources?.[0]).not.toHaveProperty(EXT)
    expect((await scim(o, 'GET', `/Users?filter=${encodeURIComponent(`${EXT}:level eq 7`)}`)).status).toBe(400)
    expect((await declare(o, declaration)).status).toBe(201)
    expect((await scim(o, 'GET', `/Users/${id}`)).json[EXT]).toEqual({ level: 7 })

    const g = await declare(o, { id: GROUP_EXT, resourceType: 'Group', attributes: [{ name: 'region', type: 'string', canonicalValues: ['eu', 'us'] }] })
    expect(g.status, g.text).toBe(201)
    const group = await scim(o, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', GROUP_EXT], displayName: 'EU team', [GROUP_EXT]: { region: 'eu' } })
    expect(group.status, group.text).toBe(201)
    expect(group.json[GROUP_EXT]).toEqual({ region: 'eu' })
    const gl = await scim(o, 'GET', `/Groups?filter=${encodeURIComponent(`${GROUP_EXT}:region eq "eu"`)}`)
    expect(gl.json.Resources?.map((r) => r.displayName)).toEqual(['EU team'])
    expect((await scim(o, 'GET', '/ResourceTypes/Group')).json.schemaExtensions).toEqual([{ schema: GROUP_EXT, required: false }])
    const dir = await api('GET', `/orgs/${o.id}/groups/${group.json.id as string}`, o.key)
    expect((dir.json.extensions as Json)[GROUP_EXT]).toEqual({ region: 'eu' })
  })
})
