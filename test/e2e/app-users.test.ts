// The application's side of who owns a user (docs/policies.md), through the real HTTP server on
// SQLite and PostgreSQL: users the application creates (`managedBy: "app"`), the fields an
// identity provider owns on SCIM-managed users (409 naming each, nothing written), the
// application's metadata that SCIM never touches, adoption of an application-created user by an
// identity provider only when the organization allows it, and deprovisioning that keeps a
// deleted user for N days before the sweep removes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, type OrgSettings } from '../../src/orgs/settings.ts'
import { purgeDeletedUsers } from '../../src/provisioning/deprovision.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { FeedReader, apiGet, typesOf, type Json } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ENTRA_UA = 'Microsoft Azure AD SCIM provisioning 1.0.0'
const DAY = 86_400_000

describe.each(storeMatrix())('users the application manages, and SCIM-owned fields, on $name', (factory) => {
  let t: TestApp
  let key = ''
  let offsetMs = 0

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(Date.now() + offsetMs) })
    key = (await createApiKey(t.deps, { name: 'app', orgId: null, scopes: ['directory:read', 'directory:write', 'events:read', 'log:read'], expiresAt: null })).key
  })
  afterAll(async () => t.close())

  const api = async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const r = await t.app.inject({ method, url: `/api/v1${path}`, headers: { authorization: `Bearer ${key}`, ...headers }, ...(body === undefined ? {} : { payload: body as Json }) })
    return { status: r.statusCode, headers: r.headers, json: (r.body ? JSON.parse(r.body) : {}) as Json }
  }

  /** A fresh organization with these settings, its SCIM calls and a reader of its feed. */
  const org = async (settings: Partial<OrgSettings> = {}) => {
    const o = await t.newOrg(`apps-${Math.random().toString(36).slice(2)}`)
    await t.store.write((tx) => tx.orgs.saveSettings(o.orgId, { ...DEFAULT_SETTINGS, ...settings }))
    const scim = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) =>
      t.req(method, path, body, { token: o.token, headers: { 'user-agent': ENTRA_UA } })
    return { ...o, scim, feed: new FeedReader(apiGet(t, () => key), o.orgId) }
  }
  const scimUser = async (o: { scim: (m: 'POST', p: string, b: unknown) => Promise<{ status: number; json: Json; text: string }> }, userName: string, extra: Json = {}) => {
    const r = await o.scim('POST', '/Users', user(userName, extra))
    expect(r.status, r.text).toBe(201)
    return String(r.json.id)
  }
  const dirUser = (orgId: OrgId, id: string) => api('GET', `/orgs/${orgId}/users/${id}`)

  it('creates a user the application manages: managedBy app, active, with its metadata, and a user.created event', async () => {
    const o = await org()
    const r = await api('POST', `/orgs/${o.orgId}/users`, { userName: 'app.made@example.com', email: 'app.made@example.com', displayName: 'App Made', metadata: { role: 'admin' } })
    expect(r.status, JSON.stringify(r.json)).toBe(201)
    expect(r.json).toMatchObject({ userName: 'app.made@example.com', email: 'app.made@example.com', managedBy: 'app', state: 'active', metadata: { role: 'admin' }, version: 1 })
    expect(r.headers.etag).toBe('W/"1"')
    const [created] = await o.feed.take(1)
    expect(created?.type).toBe('user.created')
    expect(created?.data).toMatchObject({ id: r.json.id, managedBy: 'app', metadata: { role: 'admin' } })

    expect((await api('POST', `/orgs/${o.orgId}/users`, { userName: 'App.Made@example.com' })).json).toMatchObject({ error: 'user_name_taken' })
    expect((await api('POST', `/orgs/${o.orgId}/users`, { userName: 'x@example.com', role: 'admin' })).json).toMatchObject({ error: 'invalid_body' })
    expect((await api('POST', `/orgs/${o.orgId}/users`, { displayName: 'No name' })).status).toBe(400)
  })

  it('refuses the SCIM-owned fields of a SCIM-managed user with 409 naming each, changing nothing; metadata and unowned fields change', async () => {
    const o = await org()
    const id = await scimUser(o, 'owned@example.com', { phoneNumbers: [{ value: '+1 555 0100', type: 'work' }], title: 'Engineer' })
    const before = (await dirUser(o.orgId, id)).json

    const refused = await api('PATCH', `/orgs/${o.orgId}/users/${id}`, { phoneNumbers: [{ value: '+1 555 0199' }], title: 'Boss', metadata: { role: 'x' } })
    expect(refused.status).toBe(409)
    expect(refused.json).toEqual({
      error: 'scim_owned_fields', fields: ['phoneNumbers', 'title'], managedBy: 'scim', identityProvider: 'entra',
      message: 'phoneNumbers, title are managed by entra through SCIM for this user; change them in entra, which will provision the change',
    })
    expect((await dirUser(o.orgId, id)).json).toEqual(before)

    const meta = await api('PATCH', `/orgs/${o.orgId}/users/${id}`, { metadata: { role: 'viewer' }, nickName: 'Ned' }, { 'if-match': 'W/"1"' })
    expect(meta.status, JSON.stringify(meta.json)).toBe(200)
    expect(meta.json).toMatchObject({ metadata: { role: 'viewer' }, nickName: 'Ned', version: 2, managedBy: 'scim' })
    expect((await api('PATCH', `/orgs/${o.orgId}/users/${id}`, { metadata: null }, { 'if-match': 'W/"1"' })).status).toBe(412)
    const events = await o.feed.take(2)
    expect(typesOf(events)).toEqual(['user.created', 'user.updated'])
    expect(events[1]?.data.changes).toEqual({ attributes: ['nickName', 'metadata'], before: { metadata: {} }, after: { nickName: 'Ned', metadata: { role: 'viewer' } } })

    // The identity provider's next full update leaves the application's metadata alone.
    expect((await o.scim('PUT', `/Users/${id}`, user('owned@example.com', { title: 'Principal' }))).status).toBe(200)
    expect((await dirUser(o.orgId, id)).json).toMatchObject({ title: 'Principal', metadata: { role: 'viewer' } })
  })

  it('follows the organization\'s list of SCIM-owned fields', async () => {
    const o = await org({ scimOwnedFields: ['userName', 'emails'] })
    const id = await scimUser(o, 'narrow@example.com')
    expect((await api('PATCH', `/orgs/${o.orgId}/users/${id}`, { title: 'Set by the app' })).json).toMatchObject({ title: 'Set by the app' })
    expect((await api('PATCH', `/orgs/${o.orgId}/users/${id}`, { email: 'other@example.com' })).json).toMatchObject({ error: 'scim_owned_fields', fields: ['email'] })
  })

  it('changes any field of a user the application manages', async () => {
    const o = await org()
    const c = await api('POST', `/orgs/${o.orgId}/users`, { userName: 'mine@example.com' })
    const r = await api('PATCH', `/orgs/${o.orgId}/users/${c.json.id}`, { userName: 'renamed@example.com', phoneNumbers: [{ value: '+1 555 0100', type: 'work' }], active: false })
    expect(r.json).toMatchObject({ userName: 'renamed@example.com', phoneNumbers: [{ value: '+1 555 0100', type: 'work', primary: false }], state: 'suspended', version: 2 })
  })

  it('an identity provider does not take over an application-created user: 409 on create and on writes, nothing changed', async () => {
    const o = await org()
    const app = await api('POST', `/orgs/${o.orgId}/users`, { userName: 'shared@example.com', title: 'Mine' })
    const created = await o.scim('POST', '/Users', user('Shared@example.com', { title: 'Theirs' }))
    expect(created.status).toBe(409)
    expect(created.json).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness',
      detail: `userName "Shared@example.com" belongs to User "${String(app.json.id)}", which the application created; ` +
        'an identity provider does not take over such a user unless the organization allows adoption (adoptExisting)',
    })
    // Entra ID and Okta match by userName first, then write: each write is refused.
    const found = await o.scim('GET', `/Users?filter=${encodeURIComponent('userName eq "shared@example.com"')}`)
    expect(found.json.totalResults).toBe(1)
    const patched = await o.scim('PATCH', `/Users/${String(app.json.id)}`, patchOp({ op: 'replace', path: 'title', value: 'Theirs' }))
    expect(patched.status).toBe(409)
    expect(patched.json).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409',
      detail: `User "${String(app.json.id)}" was created by the application, not by an identity provider; ` +
        'an identity provider does not take over such a user unless the organization allows adoption (adoptExisting)',
    })
    expect((await o.scim('DELETE', `/Users/${String(app.json.id)}`)).status).toBe(409)
    expect((await dirUser(o.orgId, String(app.json.id))).json).toMatchObject({ managedBy: 'app', title: 'Mine', version: 1 })
    // The organization admin reads each refusal, and why, in the provisioning log.
    await t.app.provisioningLog.flush()
    const log = await api('GET', `/orgs/${o.orgId}/provisioning-log?status=409`)
    const items = log.json.items as { method: string; status: number; scimType: string | null; detail: string }[]
    expect(items.map((i) => [i.method, i.status, i.scimType])).toEqual([['DELETE', 409, null], ['PATCH', 409, null], ['POST', 409, 'uniqueness']])
    expect(items[2]?.detail).toBe(created.json.detail)
  })

  it('with adoptExisting on, the identity provider\'s create adopts the user: same id, managedBy scim, user.adopted then user.updated', async () => {
    const o = await org({ adoptExisting: true })
    const app = await api('POST', `/orgs/${o.orgId}/users`, { userName: 'adopt.me@example.com', title: 'Mine', metadata: { role: 'admin' } })
    await o.feed.take(1)
    const created = await o.scim('POST', '/Users', user('adopt.me@example.com', { title: 'Theirs' }))
    expect(created.status, created.text).toBe(201)
    expect(created.json.id).toBe(app.json.id)
    expect((await dirUser(o.orgId, String(app.json.id))).json).toMatchObject({ managedBy: 'scim', identityProvider: 'entra', title: 'Theirs', metadata: { role: 'admin' }, version: 2 })
    const events = await o.feed.take(2)
    expect(typesOf(events)).toEqual(['user.adopted', 'user.updated'])
    expect(events[0]?.data).toMatchObject({ id: app.json.id, managedBy: 'scim', previouslyManagedBy: 'app' })

    // A PATCH to another application user adopts it as well.
    const other = await api('POST', `/orgs/${o.orgId}/users`, { userName: 'adopt.two@example.com' })
    expect((await o.scim('PATCH', `/Users/${String(other.json.id)}`, patchOp({ op: 'replace', path: 'title', value: 'T' }))).status).toBe(200)
    expect((await dirUser(o.orgId, String(other.json.id))).json).toMatchObject({ managedBy: 'scim', title: 'T' })
  })

  it('deprovision: suspend keeps a deleted user for the directory API until the sweep, while SCIM sees it gone', async () => {
    const o = await org({ deprovision: 'suspend', deleteAfterDays: 3 })
    const id = await scimUser(o, 'leaver@example.com')
    const g = await o.scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Team', members: [{ value: id }] })
    await o.feed.take(3)
    expect((await o.scim('DELETE', `/Users/${id}`)).status).toBe(204)
    expect((await o.scim('GET', `/Users/${id}`)).status).toBe(404)
    const kept = await dirUser(o.orgId, id)
    expect(kept.status).toBe(200)
    expect(kept.json).toMatchObject({ id, state: 'deleted', userName: 'leaver@example.com', version: 2 })
    const events = await o.feed.take(2)
    expect(typesOf(events)).toEqual(['user.deactivated', 'group.member_removed'])
    expect(events[0]?.data).toMatchObject({ id, state: 'deleted' })
    expect((await api('GET', `/orgs/${o.orgId}/groups/${String(g.json.id)}`)).json).toMatchObject({ memberCount: 0 })
    // The identity provider may provision the same userName again at once: a new user.
    expect(await scimUser(o, 'leaver@example.com')).not.toBe(id)
    await o.feed.take(1)

    expect(await purgeDeletedUsers(t.deps)).toBe(0)
    offsetMs = 3 * DAY + 60_000
    try {
      expect(await purgeDeletedUsers(t.deps)).toBeGreaterThanOrEqual(1)
      expect(await purgeDeletedUsers(t.deps)).toBe(0)
    } finally {
      offsetMs = 0
    }
    expect((await dirUser(o.orgId, id)).status).toBe(404)
    const [deleted] = await o.feed.take(1)
    expect(deleted?.type).toBe('user.deleted')
    expect(deleted?.data).toMatchObject({ id, state: 'deleted', version: 3 })
  })

  it('deprovision: delete (the default) removes the user at once', async () => {
    const o = await org()
    const id = await scimUser(o, 'gone@example.com')
    await o.feed.take(1)
    expect((await o.scim('DELETE', `/Users/${id}`)).status).toBe(204)
    expect((await dirUser(o.orgId, id)).status).toBe(404)
    expect(typesOf(await o.feed.take(1))).toEqual(['user.deleted'])
  })
})
