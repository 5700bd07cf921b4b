// Groups whose names look privileged (`admin`, `Administrators`, `owner`) grant nothing, on each
// store: Roster keeps no roles (docs/architecture.md, "Email, userName and externalId are data":
// a group named "admin" grants nothing unless the vendor maps it), and the application's
// `metadata`, where it keeps a role, is never written by SCIM (docs/policies.md). The identity
// provider creates the groups and adds users through /Groups (POST with members, PATCH add and
// replace, Entra ID's capitalised `Add`) and through /Bulk (RFC 7644 §3.7); /Users cannot write
// `groups`: it is readOnly (RFC 7643 §4.1.2), so a PATCH naming it is 400 `mutability` (RFC 7644
// §3.5.2) and a POST or PUT carrying it has it ignored (RFC 7643 §2.2: readOnly values sent by a
// client SHALL be ignored; Okta sends `groups: []` on create, docs/compatibility.md). Afterwards
// the directory API shows every user exactly as before (metadata, version, state), the groups
// are data the application reads (a user's groups, group.member_added), and no user event.
// Sources of the scenario: authentik GHSA-9m7q-6qg6-888h; keycloak/keycloak #50473.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall, apiGet, type FeedEvent, FeedReader } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const NAMES = ['admin', 'Administrators', 'owner'] as const

describe.each(storeMatrix())('privileged-looking group names on $name', (factory) => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp(factory)
  })
  afterAll(async () => t.close())

  /** An organization with three users the application gave roles in `metadata`: two SCIM-managed, one its own. */
  const setUp = async () => {
    const o = await t.newOrg(`roles-${randomUUID()}`)
    const key = (await createApiKey(t.deps, { name: 'app', orgId: o.orgId, scopes: ['*'], expiresAt: null })).key
    const api = (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown) => apiCall(t, method, `/orgs/${o.orgId}${path}`, key, body)
    const scim = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) => t.req(method, path, body, { token: o.token })
    const feed = new FeedReader(apiGet(t, () => key), o.orgId)
    const ids: string[] = []
    for (const [i, role] of ['member', 'viewer'].entries()) {
      const r = await scim('POST', '/Users', user(`user${i}@example.com`))
      expect(r.status, r.text).toBe(201)
      const id = String(r.json.id)
      expect((await api('PATCH', `/users/${id}`, { metadata: { role } })).status).toBe(200)
      ids.push(id)
    }
    const own = await api('POST', '/users', { userName: 'own@example.com', metadata: { role: 'billing' } })
    expect(own.status, own.text).toBe(201)
    ids.push(String(own.json.id))
    const directory = async () => Promise.all(ids.map(async (id) => (await api('GET', `/users/${id}`)).json))
    /** The feed up to and including the organization.updated a settings change writes, without it: nothing before it is still to come. */
    let subdomains = false
    const events = async (): Promise<FeedEvent[]> => {
      subdomains = !subdomains
      expect((await api('PATCH', '/settings', { subdomains })).status).toBe(200)
      const out: FeedEvent[] = []
      const deadline = Date.now() + 10_000
      while (!out.some((e) => e.type === 'organization.updated') && Date.now() < deadline) out.push(...(await feed.take(1, { timeoutMs: 2_000 })))
      return out.filter((e) => e.type !== 'organization.updated')
    }
    await events()
    return { api, scim, ids, directory, events }
  }

  const groupsOf = async (api: Awaited<ReturnType<typeof setUp>>['api'], id: string) =>
    ((await api('GET', `/users/${id}/groups`)).json.data as { displayName: string }[]).map((g) => g.displayName).sort()

  it.each(['/Groups', '/Bulk'] as const)('groups created and filled through %s change no user the application sees; /Users cannot write groups', async (via) => {
    const { api, scim, ids, directory, events } = await setUp()
    const [u0, u1, own] = ids as [string, string, string]
    const before = await directory()
    const groupIds: string[] = []
    if (via === '/Groups') {
      for (const displayName of NAMES) {
        const r = await scim('POST', '/Groups', { schemas: [GROUP], displayName, members: [{ value: u0 }] })
        expect(r.status, r.text).toBe(201)
        groupIds.push(String(r.json.id))
      }
      const [admin, administrators, owner] = groupIds as [string, string, string]
      expect((await scim('PATCH', `/Groups/${admin}`, patchOp({ op: 'Add', path: 'members', value: [{ value: u1 }, { value: own }] }))).status).toBe(204)
      expect((await scim('PATCH', `/Groups/${administrators}`, patchOp({ op: 'replace', path: 'members', value: [{ value: u1 }] }))).status).toBe(204)
      expect((await scim('PATCH', `/Groups/${owner}`, patchOp({ op: 'add', value: { members: [{ value: own }] } }))).status).toBe(204)
    } else {
      const r = await scim('POST', '/Bulk', { schemas: [BULK], Operations: [
        ...NAMES.map((displayName, i) => ({ method: 'POST', path: '/Groups', bulkId: `g${i}`, data: { schemas: [GROUP], displayName, members: [{ value: u0 }] } })),
        { method: 'PATCH', path: '/Groups/bulkId:g0', data: patchOp({ op: 'Add', path: 'members', value: [{ value: u1 }, { value: own }] }) },
        { method: 'PATCH', path: '/Groups/bulkId:g1', data: patchOp({ op: 'replace', path: 'members', value: [{ value: u1 }] }) },
        { method: 'PATCH', path: '/Groups/bulkId:g2', data: patchOp({ op: 'add', value: { members: [{ value: own }] } }) },
      ] })
      expect(r.status, r.text).toBe(200)
      const ops = r.json.Operations as { status: string; location?: string }[]
      expect(ops.map((o) => o.status)).toEqual(['201', '201', '201', '200', '200', '200'])
      groupIds.push(...ops.slice(0, 3).map((o) => String(o.location?.split('/').pop())))
    }
    const [admin] = groupIds as [string, string, string]

    // /Users cannot put a user in a group: a PATCH with the path groups is 400 mutability; a
    // path-less PATCH, a POST or a PUT carrying groups has them ignored (readOnly keys in a
    // path-less value are ignored as in a POST: docs/compatibility.md).
    for (const op of [{ op: 'add', path: 'groups', value: [{ value: admin }] }, { op: 'replace', path: 'groups', value: [{ value: admin }] }]) {
      const r = await scim('PATCH', `/Users/${u1}`, patchOp(op))
      expect(r.status, r.text).toBe(400)
      expect(r.json.scimType).toBe('mutability')
    }
    const pathless = await scim('PATCH', `/Users/${u1}`, patchOp({ op: 'add', value: { groups: [{ value: groupIds[2] }] } }))
    expect(pathless.status, pathless.text).toBe(200)
    const put = await scim('PUT', `/Users/${u1}`, user('user1@example.com', { groups: [{ value: groupIds[2], display: 'owner' }] }))
    expect(put.status, put.text).toBe(200)
    const created = await scim('POST', '/Users', user('newcomer@example.com', { groups: [{ value: admin, display: 'admin' }] }))
    expect(created.status, created.text).toBe(201)
    expect(await groupsOf(api, String(created.json.id))).toEqual([])

    // The groups are data the application reads; the users are as they were: metadata, version, state.
    expect(await groupsOf(api, u0)).toEqual(['admin', 'owner'].sort())
    expect(await groupsOf(api, u1)).toEqual(['Administrators', 'admin'].sort())
    expect(await groupsOf(api, own)).toEqual(['admin', 'owner'].sort())
    expect(await directory()).toEqual(before)
    expect(before.map((u) => u.metadata)).toEqual([{ role: 'member' }, { role: 'viewer' }, { role: 'billing' }])
    // The feed: the groups and their members, the newcomer; no event about an existing user.
    const seen = await events()
    expect(seen.filter((e) => e.type.startsWith('user.')).map((e) => [e.type, e.data.userName])).toEqual([['user.created', 'newcomer@example.com']])
    const who = (id: string | undefined) => (id === own ? 'own' : id === u0 ? 'u0' : 'u1')
    expect(seen.filter((e) => e.type.startsWith('group.member_')).map((e) => `${e.type} ${String(e.data.displayName)} ${who(e.data.member?.id)}`).sort()).toEqual([
      'group.member_added admin u0', 'group.member_added Administrators u0', 'group.member_added owner u0', 'group.member_added admin u1',
      'group.member_added admin own', 'group.member_added Administrators u1', 'group.member_removed Administrators u0', 'group.member_added owner own',
    ].sort())
  })
})
