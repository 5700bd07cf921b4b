// What each SCIM operation writes to the event feed (src/events/build.ts), read back through
// GET /api/v1/orgs/{org}/events as a consumer reads it: the right events, in order, each
// `{ id, type, timestamp, data }` with `data` in the directory API's shape plus `orgId`; nothing
// for a write that changes nothing; one event per member for membership changes, never a list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { FeedReader, apiGet, typesOf, type ApiGet, type FeedEvent, type Json } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENTRA_UA = 'Microsoft Azure AD SCIM provisioning 1.0.0'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe.each(storeMatrix())('events written by SCIM operations on $name', (factory) => {
  let t: TestApp
  let api: ApiGet

  beforeAll(async () => {
    t = await startApp(factory)
    const key = (await createApiKey(t.deps, { name: 'feed', orgId: null, scopes: ['events:read', 'directory:read'], expiresAt: null })).key
    api = apiGet(t, () => key)
  })
  afterAll(async () => t.close())

  /** A fresh organization (its feed starts empty), its SCIM calls and a consumer of its feed. */
  const freshOrg = async () => {
    const o = await t.newOrg(`ev-${Math.random().toString(36).slice(2)}`)
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>) =>
      t.req(method, path, body, { token: o.token, ...(headers ? { headers } : {}) })
    const createUser = async (userName: string, extra: Json = {}) => {
      const r = await req('POST', '/Users', user(userName, extra))
      expect(r.status, r.text).toBe(201)
      return String(r.json.id)
    }
    const createGroup = async (displayName: string, members: string[] = []) => {
      const r = await req('POST', '/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) })
      expect(r.status, r.text).toBe(201)
      return String(r.json.id)
    }
    const directory = async (kind: 'users' | 'groups', id: string) => {
      const r = await api<Json>(`/orgs/${o.orgId}/${kind}/${id}`)
      expect(r.status).toBe(200)
      return r.json
    }
    return { ...o, req, createUser, createGroup, directory, feed: new FeedReader(api, o.orgId) }
  }
  const members = (events: readonly FeedEvent[]) => events.map((e) => e.data.member)

  it('POST /Users writes user.created: { id, type, timestamp, data }, data being the directory shape with orgId', async () => {
    const o = await freshOrg()
    const id = await o.createUser('created@example.com', { title: 'New' })
    const events = await o.feed.take(1)
    expect(typesOf(events)).toEqual(['user.created'])
    const [e] = events as [FeedEvent]
    expect(Object.keys(e).sort()).toEqual(['data', 'id', 'timestamp', 'type'])
    expect(e.id).toMatch(UUID)
    expect(e.data).toEqual({ ...(await o.directory('users', id)), orgId: o.orgId })
    expect(e.data).toMatchObject({ id, version: 1, userName: 'created@example.com', title: 'New' })
    expect(e.timestamp).toBe(e.data.updatedAt)
  })

  it('PATCH writes user.updated with data.changes { attributes, before, after }; a password change names password but never carries its value', async () => {
    const o = await freshOrg()
    const id = await o.createUser('patched@example.com', { title: 'Before' })
    await o.feed.take(1)
    expect((await o.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'After' }, { op: 'add', path: 'nickName', value: 'Pat' }))).status).toBe(200)
    const [updated] = await o.feed.take(1)
    expect(updated?.type).toBe('user.updated')
    expect(updated?.data).toMatchObject({ id, version: 2, title: 'After', nickName: 'Pat', orgId: o.orgId })
    expect(updated?.data.changes?.attributes).toEqual(['nickName', 'title'])
    expect(updated?.data.changes?.before).toEqual({ title: 'Before' })
    expect(updated?.data.changes?.after).toEqual({ title: 'After', nickName: 'Pat' })
    const { changes: _changes, ...shape } = updated?.data ?? {}
    expect(shape).toEqual({ ...(await o.directory('users', id)), orgId: o.orgId })

    const secret = 'Canary-Pa55word-e1f2'
    expect((await o.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: secret }))).status).toBe(200)
    expect((await o.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { password: `${secret}-2`, displayName: 'Pat P' } }))).status).toBe(200)
    const pw = await o.feed.take(2)
    expect(typesOf(pw)).toEqual(['user.updated', 'user.updated'])
    expect(pw[0]?.data.changes).toEqual({ attributes: ['password'], before: {}, after: {} })
    expect(pw[1]?.data.changes?.attributes).toEqual(['displayName', 'password'])
    expect(pw[1]?.data.changes?.after).toEqual({ displayName: 'Pat P' })
    expect(JSON.stringify(pw)).not.toContain('Canary')
  })

  it('active false writes user.updated then user.deactivated, Entra\'s "False" alike; back to true writes user.updated then user.reactivated', async () => {
    const o = await freshOrg()
    const id = await o.createUser('toggle@example.com')
    await o.feed.take(1)
    const steps: [Json, Record<string, string> | undefined, string, boolean][] = [
      [patchOp({ op: 'replace', path: 'active', value: false }), undefined, 'user.deactivated', false],
      [patchOp({ op: 'replace', path: 'active', value: true }), undefined, 'user.reactivated', true],
      [patchOp({ op: 'Replace', path: 'active', value: 'False' }), { 'user-agent': ENTRA_UA }, 'user.deactivated', false],
      [patchOp({ op: 'Replace', path: 'active', value: 'True' }), { 'user-agent': ENTRA_UA }, 'user.reactivated', true],
      // Entra's path-less form (docs/compatibility.md).
      [patchOp({ op: 'Replace', value: { active: 'False' } }), { 'user-agent': ENTRA_UA }, 'user.deactivated', false],
    ]
    let version = 1
    for (const [body, headers, type, active] of steps) {
      const r = await o.req('PATCH', `/Users/${id}`, body, headers)
      expect(r.status, r.text).toBe(200)
      version++
      const events = await o.feed.take(2)
      expect(typesOf(events)).toEqual(['user.updated', type])
      expect(events[0]?.data.changes).toEqual({ attributes: ['active'], before: { active: !active }, after: { active } })
      // Never accepted its invitation: pending when active, and pending again when reactivated.
      for (const e of events) expect(e.data).toMatchObject({ id, version, active, state: active ? 'pending' : 'suspended' })
      expect(events[1]?.data).not.toHaveProperty('changes')
    }
  })

  it('a PUT that repeats the stored user (with its custom attributes) writes no event', async () => {
    const o = await freshOrg()
    const id = await o.createUser('same@example.com', { title: 'Same', favoriteColor: 'green' })
    await o.feed.take(1)
    const { id: _id, meta: _meta, ...stored } = (await o.req('GET', `/Users/${id}`)).json
    expect((await o.req('PUT', `/Users/${id}`, { ...stored, favoriteColor: 'green' })).status).toBe(200)
    // The next write's event is the next in the feed: the PUT wrote none before it.
    expect((await o.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Sentinel' }))).status).toBe(200)
    const [next] = await o.feed.take(1)
    expect(next?.type).toBe('user.updated')
    expect(next?.data.changes).toEqual({ attributes: ['title'], before: { title: 'Same' }, after: { title: 'Sentinel' } })
  })

  it('a PUT that changes only a custom attribute writes user.updated naming customAttributes', async () => {
    // Was no event at all: the directory shape (and version) changed while the feed said nothing.
    const o = await freshOrg()
    const id = await o.createUser('custom@example.com', { favoriteColor: 'green' })
    await o.feed.take(1)
    const { id: _id, meta: _meta, ...stored } = (await o.req('GET', `/Users/${id}`)).json
    expect((await o.req('PUT', `/Users/${id}`, { ...stored, favoriteColor: 'blue' })).status).toBe(200)
    expect((await o.req('PUT', `/Users/${id}`, { ...stored, title: 'Plain' })).status).toBe(200)
    const events = await o.feed.take(2)
    expect(typesOf(events)).toEqual(['user.updated', 'user.updated'])
    expect(events[0]?.data.changes).toEqual({ attributes: ['customAttributes'], before: { customAttributes: { favoriteColor: 'green' } }, after: { customAttributes: { favoriteColor: 'blue' } } })
    expect(events[0]?.data).toMatchObject({ version: 2, customAttributes: { favoriteColor: 'blue' } })
    // A PUT without them drops them, and says so beside the attributes it changed.
    expect(events[1]?.data.changes).toEqual({ attributes: ['title', 'customAttributes'], before: { customAttributes: { favoriteColor: 'blue' } }, after: { title: 'Plain', customAttributes: {} } })
    const { changes: _c, ...shape } = events[1]?.data ?? {}
    expect(shape).toEqual({ ...(await o.directory('users', id)), orgId: o.orgId })
  })

  it('DELETE /Users writes user.deleted with the user as it was, then a group.member_removed for each group it was in', async () => {
    const o = await freshOrg()
    const id = await o.createUser('leaving@example.com', { displayName: 'Leaving' })
    const other = await o.createUser('staying@example.com')
    const g1 = await o.createGroup('Team 1', [id, other])
    const g2 = await o.createGroup('Team 2', [id])
    await o.feed.take(1 + 1 + 3 + 2)
    const asItWas = await o.directory('users', id)
    const groupsBefore = new Map([[g1, await o.directory('groups', g1)], [g2, await o.directory('groups', g2)]])
    expect((await o.req('DELETE', `/Users/${id}`)).status).toBe(204)
    const events = await o.feed.take(3)
    expect(typesOf(events)).toEqual(['user.deleted', 'group.member_removed', 'group.member_removed'])
    expect(events[0]?.data).toEqual({ ...asItWas, orgId: o.orgId })
    const removed = events.slice(1)
    expect(removed.map((e) => e.data.id).sort()).toEqual([g1, g2].sort())
    for (const e of removed) {
      const before = groupsBefore.get(e.data.id) as Json
      expect(e.data.member).toEqual({ id, type: 'user' })
      expect(e.data).not.toHaveProperty('members')
      expect(e.data).toMatchObject({ version: Number(before.version) + 1, memberCount: Number(before.memberCount) - 1, orgId: o.orgId })
      const { member: _m, ...shape } = e.data
      expect(shape).toEqual({ ...(await o.directory('groups', e.data.id)), orgId: o.orgId })
    }
  })

  it('POST /Groups with members writes group.created and one group.member_added per member, none carrying a member list', async () => {
    const o = await freshOrg()
    const users = [await o.createUser('m1@example.com'), await o.createUser('m2@example.com'), await o.createUser('m3@example.com')]
    const nested = await o.createGroup('Nested')
    await o.feed.take(4)
    const gid = await o.createGroup('Parent', [...users, nested])
    const events = await o.feed.take(5)
    expect(typesOf(events)).toEqual(['group.created', ...Array(4).fill('group.member_added')])
    expect(events[0]?.data).toEqual({ ...(await o.directory('groups', gid)), orgId: o.orgId })
    for (const e of events) {
      expect(e.data).toMatchObject({ id: gid, displayName: 'Parent', version: 1, memberCount: 4 })
      expect(e.data).not.toHaveProperty('members')
    }
    expect(events[0]?.data).not.toHaveProperty('member')
    expect(members(events.slice(1)).sort((a, b) => ((a?.id ?? '') < (b?.id ?? '') ? -1 : 1)))
      .toEqual([...users.map((id) => ({ id, type: 'user' })), { id: nested, type: 'group' }].sort((a, b) => (a.id < b.id ? -1 : 1)))
  })

  it('a member PATCH writes one event per member changed (removals first), each with data.member; a rename writes group.updated; a PATCH that changes nothing writes nothing', async () => {
    const o = await freshOrg()
    const [a, b, c, d] = [await o.createUser('pa@example.com'), await o.createUser('pb@example.com'), await o.createUser('pc@example.com'), await o.createUser('pd@example.com')]
    const gid = await o.createGroup('Before', [a as string, b as string])
    await o.feed.take(4 + 3)
    const r = await o.req('PATCH', `/Groups/${gid}`, patchOp(
      { op: 'remove', path: `members[value eq "${a}"]` },
      { op: 'add', path: 'members', value: [{ value: c }, { value: d }] },
    ))
    expect(r.status).toBe(204)
    const events = await o.feed.take(3)
    expect(typesOf(events)).toEqual(['group.member_removed', 'group.member_added', 'group.member_added'])
    expect(members(events)).toEqual([{ id: a, type: 'user' }, { id: c, type: 'user' }, { id: d, type: 'user' }])
    for (const e of events) {
      expect(e.data).toMatchObject({ id: gid, version: 2, memberCount: 3, displayName: 'Before' })
      expect(e.data).not.toHaveProperty('members')
    }

    // Adding a member it has and removing one it lacks change nothing; the rename after them is the next event.
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] }))).status).toBe(204)
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${a}"]` }))).status).toBe(204)
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'replace', path: 'displayName', value: 'After' }))).status).toBe(204)
    const [renamed] = await o.feed.take(1)
    expect(renamed?.type).toBe('group.updated')
    expect(renamed?.data).toMatchObject({ id: gid, version: 3, displayName: 'After', memberCount: 3 })
    expect(renamed?.data.changes).toEqual({ attributes: ['displayName'], before: { displayName: 'Before' }, after: { displayName: 'After' } })
    expect(renamed?.data).not.toHaveProperty('member')

    // PUT with members: the rename (none here) and each member difference.
    expect((await o.req('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'After', members: [{ value: a }, { value: b }] })).status).toBe(200)
    const put = await o.feed.take(3)
    expect(typesOf(put).sort()).toEqual(['group.member_added', 'group.member_removed', 'group.member_removed'])
    expect(put.find((e) => e.type === 'group.member_added')?.data.member).toEqual({ id: a, type: 'user' })
    expect(put.filter((e) => e.type === 'group.member_removed').map((e) => e.data.member?.id).sort()).toEqual([c, d].sort())
    for (const e of put) expect(e.data).toMatchObject({ version: 4, memberCount: 2 })

    // An add naming members it has and members it lacks: events and count for the new ones only.
    const e = await o.createUser('pe@example.com')
    await o.feed.take(1)
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: a }, { value: e }, { value: b }, { value: c }] }))).status).toBe(204)
    const mixed = await o.feed.take(2)
    expect(typesOf(mixed)).toEqual(['group.member_added', 'group.member_added'])
    expect(members(mixed).map((m) => m?.id).sort()).toEqual([e, c].sort())
    for (const ev of mixed) expect(ev.data).toMatchObject({ version: 5, memberCount: 4 })
    expect((await o.directory('groups', gid)).memberCount).toBe(4)
  })

  it('refreshToken writes token.refreshed naming the new token by id and prefix, never the token', async () => {
    const o = await freshOrg()
    const { token } = await refreshToken(t.deps, o.orgId)
    const [e] = await o.feed.take(1)
    expect(e?.type).toBe('token.refreshed')
    expect(Object.keys(e?.data ?? {}).sort()).toEqual(['createdAt', 'id', 'orgId', 'prefix', 'version'])
    // A token is created once and never changed: always version 1 (the contract's data carries `id` and `version`).
    expect(e?.data).toMatchObject({ orgId: o.orgId, createdAt: e?.timestamp, version: 1 })
    expect(token.startsWith(String(e?.data.prefix))).toBe(true)
    expect(JSON.stringify(e)).not.toContain(token)
  })

  it('DELETE /Groups writes group.deleted with the group as it was, and a group.member_removed in each group it was a member of', async () => {
    const o = await freshOrg()
    const u = await o.createUser('gd@example.com')
    const child = await o.createGroup('Child', [u])
    const parent = await o.createGroup('Parent', [child])
    await o.feed.take(1 + 2 + 2)
    const asItWas = await o.directory('groups', child)
    expect((await o.req('DELETE', `/Groups/${child}`)).status).toBe(204)
    const events = await o.feed.take(2)
    expect(typesOf(events)).toEqual(['group.deleted', 'group.member_removed'])
    expect(events[0]?.data).toEqual({ ...asItWas, orgId: o.orgId })
    expect(events[1]?.data).toMatchObject({ id: parent, version: 2, memberCount: 0, member: { id: child, type: 'group' } })
  })

  it('a PATCH adding 5,000 members writes exactly 5,000 group.member_added, one per member', async () => {
    const o = await freshOrg()
    const ids: string[] = []
    for (let batch = 0; batch < 50; batch++) {
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => o.req('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `bulk${batch * 100 + i}@example.com` })))
      for (const r of rs) ids.push(String(r.json.id))
    }
    expect(new Set(ids).size).toBe(5_000)
    const gid = await o.createGroup('Everyone')
    await o.feed.take(5_001, { timeoutMs: 20_000 })
    const r = await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }))
    expect(r.status).toBe(204)
    const events = await o.feed.take(5_000, { timeoutMs: 20_000 })
    expect(events).toHaveLength(5_000)
    expect(events.every((e) => e.type === 'group.member_added' && e.data.id === gid && e.data.version === 2 && e.data.memberCount === 5_000)).toBe(true)
    expect(new Set(events.map((e) => e.data.member?.id))).toEqual(new Set(ids))
    expect(new Set(events.map((e) => e.id)).size).toBe(5_000)
    // Nothing after them.
    const more = await o.feed.page()
    expect(more.data).toEqual([])
  })
})
