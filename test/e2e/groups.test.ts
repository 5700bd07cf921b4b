// /Groups end to end: membership rows, member PATCH shapes, uniqueness, projection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const q = (f: string) => encodeURIComponent(f)

describe.each(storeMatrix())('/Groups on $name', (factory) => {
  let t: TestApp
  const users: string[] = []
  beforeAll(async () => {
    t = await startApp(factory)
    for (let i = 0; i < 12; i++) {
      const r = await t.req('POST', '/Users', user(`member${i}@example.com`, { displayName: `Member ${i}` }))
      users.push(String(r.json.id))
    }
  })
  afterAll(async () => t.close())

  async function members(id: string): Promise<string[]> {
    const r = await t.req('GET', `/Groups/${id}`)
    expect(r.status).toBe(200)
    return ((r.json.members as { value: string }[] | undefined) ?? []).map((m) => m.value).sort()
  }
  const sorted = (xs: (string | undefined)[]) => xs.map(String).sort()

  it('POST with members stores them; GET renders value, $ref, display and type; the user sees its groups', async () => {
    const r = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Engineering', externalId: 'eng', members: [{ value: users[0] }, { value: users[1] }] })
    expect(r.status).toBe(201)
    const id = String(r.json.id)
    const g = await t.req('GET', `/Groups/${id}`)
    const m = g.json.members as Record<string, unknown>[]
    expect(m).toContainEqual({ value: users[0], $ref: `https://roster.test/scim/v2/Users/${users[0]}`, display: 'Member 0', type: 'User' })
    const u = await t.req('GET', `/Users/${users[0] ?? ''}`)
    expect(u.json.groups).toEqual([{ value: id, $ref: `https://roster.test/scim/v2/Groups/${id}`, display: 'Engineering', type: 'direct' }])
  })

  it('a user\'s groups, in display-name order, on GET and on every row of a list page, each row its own', async () => {
    // Created out of order; one name with quotes, a backslash and non-ASCII text.
    const names = ['zeta "quoted" \\ team', 'Alpha', 'Mitte – Ü']
    const ids: Record<string, string> = {}
    for (const n of names) {
      const r = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: n, members: [{ value: users[5] }] })
      expect(r.status).toBe(201)
      ids[n] = String(r.json.id)
    }
    expect((await t.req('PATCH', `/Groups/${ids.Alpha ?? ''}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[6] }] }))).status).toBe(204)
    const expected = (u: string) => ['Alpha', 'Mitte – Ü', 'zeta "quoted" \\ team']
      .filter((n) => u === users[5] || n === 'Alpha')
      .map((n) => ({ value: ids[n], $ref: `https://roster.test/scim/v2/Groups/${ids[n] ?? ''}`, display: n, type: 'direct' }))
    expect((await t.req('GET', `/Users/${users[5] ?? ''}`)).json.groups).toEqual(expected(users[5] ?? ''))
    const page = await t.req('GET', `/Users?filter=${q('userName sw "member"')}&count=50`)
    const rows = page.json.Resources as { id: string; groups?: unknown[] }[]
    for (const u of [users[5], users[6]]) expect(rows.find((r) => r.id === u)?.groups).toEqual(expected(u ?? ''))
    // A user in no group has no groups attribute; asked to leave groups out, no row has it.
    expect(rows.find((r) => r.id === users[7])?.groups).toBeUndefined()
    const without = await t.req('GET', `/Users?filter=${q('userName sw "member"')}&count=50&excludedAttributes=groups`)
    expect((without.json.Resources as { groups?: unknown }[]).every((r) => r.groups === undefined)).toBe(true)
    expect((await t.req('GET', `/Users/${users[5] ?? ''}?attributes=groups.display`)).json.groups).toEqual(['Alpha', 'Mitte – Ü', 'zeta "quoted" \\ team'].map((display) => ({ display })))
    for (const id of Object.values(ids)) expect((await t.req('DELETE', `/Groups/${id}`)).status).toBe(204)
    expect((await t.req('GET', `/Users/${users[5] ?? ''}`)).json.groups).toBeUndefined()
  })

  it('a user\'s ETag changes when it joins or leaves a group or a group of it is renamed (docs/architecture.md ROS-2), and If-Match still takes its version', async () => {
    const u = await t.req('POST', '/Users', user('etag.member@example.com'))
    const id = String(u.json.id)
    const etag = async () => {
      const r = await t.req('GET', `/Users/${id}`)
      expect(r.headers.etag).toBe((r.json.meta as Record<string, unknown>).version)
      return String(r.headers.etag)
    }
    const alone = await etag()
    expect(alone).toBe('W/"1"')
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'ETag Joiners', members: [{ value: id }] })
    const joined = await etag()
    expect(joined).not.toBe(alone)
    expect(joined).toMatch(/^W\/"1\.[0-9a-z]+"$/)
    expect((await t.req('GET', `/Users/${id}`, undefined, { headers: { 'if-none-match': alone } })).status).toBe(200)
    expect((await t.req('GET', `/Users/${id}`, undefined, { headers: { 'if-none-match': joined } })).status).toBe(304)

    expect((await t.req('PATCH', `/Groups/${String(g.json.id)}`, patchOp({ op: 'replace', path: 'displayName', value: 'ETag Renamed' }))).status).toBe(204)
    const renamed = await etag()
    expect(renamed).not.toBe(joined)
    expect((await t.req('PATCH', `/Groups/${String(g.json.id)}`, patchOp({ op: 'remove', path: `members[value eq "${id}"]` }))).status).toBe(204)
    expect(await etag()).toBe(alone)

    // A write made against the version the client saw, whatever its groups, is accepted.
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'T' }), { headers: { 'if-match': renamed } })).status).toBe(200)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'U' }), { headers: { 'if-match': renamed } })).status).toBe(412)
  })

  it('lists a group\'s members in id order, whatever order they were added in, users and groups alike', async () => {
    const inner = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Order inner' })
    const picked = [users[7], users[2], String(inner.json.id), users[11], users[0], users[5]]
    const r = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Order outer', members: picked.map((value) => ({ value })) })
    expect(r.status).toBe(201)
    const g = await t.req('GET', `/Groups/${String(r.json.id)}`)
    const values = (g.json.members as { value: string; type: string; display?: string }[]).map((m) => m.value)
    expect(values).toEqual(sorted(picked))
    const byValue = new Map((g.json.members as { value: string; type: string; display?: string }[]).map((m) => [m.value, m]))
    expect(byValue.get(String(inner.json.id))).toMatchObject({ type: 'Group', display: 'Order inner' })
    expect(byValue.get(users[7] ?? '')).toMatchObject({ type: 'User', display: 'Member 7' })
  })

  it('displayName is unique case-insensitively: 409 uniqueness', async () => {
    expect((await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Sales' })).status).toBe(201)
    const dup = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'SALES' })
    expect(dup.status).toBe(409)
    expect(dup.json.scimType).toBe('uniqueness')
  })

  it('PATCH add, remove by filter, remove by value list, and replace change only the named members', async () => {
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Patchers' })
    const id = String(c.json.id)
    const add = await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: users.slice(0, 6).map((value) => ({ value })) }))
    expect(add.status).toBe(204)
    expect(await members(id)).toEqual(sorted(users.slice(0, 6)))
    await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'remove', path: `members[value eq "${users[0] ?? ''}"]` }))
    // Entra ID and Okta remove with a value list on the members path.
    await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: users[1] }, { value: users[2] }] }))
    expect(await members(id)).toEqual(sorted(users.slice(3, 6)))
    // Adding a member twice keeps one row.
    await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[3] }, { value: users[6] }] }))
    expect(await members(id)).toEqual(sorted([...users.slice(3, 7)]))
    const rep = await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'replace', path: 'members', value: [{ value: users[10] }] }))
    expect(rep.status).toBe(204)
    expect(await members(id)).toEqual([users[10]])
    await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'remove', path: 'members' }))
    expect(await members(id)).toEqual([])
  })

  it('users who are all new members are added by one insert (SQLite); any other list there writes nothing and takes the full path', async () => {
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Fast path', members: [{ value: users[0] }] })
    const gid = String(g.json.id)
    const nested = String((await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Fast path nested' })).json.id)
    const added = await t.store.write((tx) => tx.addNewUserMembers(t.orgId, gid, [String(users[1]), String(users[2])]))
    const sqlite = factory.name === 'sqlite'
    // PostgreSQL has no such path (it would cost as many round trips as it saves).
    expect(added?.added ?? null).toEqual(sqlite ? [{ id: users[1], type: 'User' }, { id: users[2], type: 'User' }] : null)
    // A member already, a group, an id of nothing: nothing is left of the insert.
    for (const other of [String(users[0]), nested, 'no-such-user']) {
      expect(await t.store.write((tx) => tx.addNewUserMembers(t.orgId, gid, [String(users[3]), other]))).toBeNull()
    }
    const expected = sqlite ? users.slice(0, 3) : users.slice(0, 1)
    expect(await members(gid)).toEqual(sorted(expected))
    expect((await t.store.directoryGroup(t.orgId, gid))?.directory?.memberCount).toBe(expected.length)
    // Through SCIM: the lists the fast path refuses still do what they did.
    const mixed = await t.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[3] }, { value: users[0] }, { value: nested }] }))
    expect(mixed.status).toBe(204)
    expect(await members(gid)).toEqual(sorted([...expected, users[3], nested]))
    expect((await t.store.directoryGroup(t.orgId, gid))?.directory?.memberCount).toBe(expected.length + 2)
  })

  it('a member that is not in the organization is 400 invalidValue and nothing is written', async () => {
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Strict', members: [{ value: users[0] }] })
    const id = String(c.json.id)
    const other = await t.newOrg('foreign-members')
    const foreign = await t.req('POST', '/Users', user('foreigner@example.com'), { token: other.token })
    for (const bad of ['no-such-user', String(foreign.json.id)]) {
      const r = await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[5] }, { value: bad }] }))
      expect(r.status).toBe(400)
      expect(r.json.scimType).toBe('invalidValue')
    }
    expect(await members(id)).toEqual([users[0]])
    const create = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Bad create', members: [{ value: 'nope' }] })
    expect(create.status).toBe(400)
    expect((await t.req('GET', `/Groups?filter=${q('displayName eq "Bad create"')}`)).json.totalResults).toBe(0)
  })

  it('rename by PATCH and PUT; PUT replaces the member list; version moves on membership change', async () => {
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Old name', members: [{ value: users[0] }] })
    const id = String(c.json.id)
    const p = await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'replace', path: 'displayName', value: 'New name' }))
    expect(p.status).toBe(204)
    expect(p.headers.etag).toBe('W/"2"')
    const add = await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[1] }] }))
    expect(add.headers.etag).toBe('W/"3"')
    const put = await t.req('PUT', `/Groups/${id}`, { schemas: [GROUP], displayName: 'Put name', members: [{ value: users[7] }, { value: users[8] }] })
    expect(put.status).toBe(200)
    expect(put.json.displayName).toBe('Put name')
    expect(sorted((put.json.members as { value: string }[]).map((m) => m.value))).toEqual(sorted([users[7], users[8]]))
    const withAttrs = await t.req('PATCH', `/Groups/${id}?attributes=displayName`, patchOp({ op: 'replace', path: 'displayName', value: 'Shown' }))
    expect(withAttrs.status).toBe(200)
    expect(withAttrs.json.displayName).toBe('Shown')
    expect(withAttrs.json.members).toBeUndefined()
  })

  it('excludedAttributes=members leaves members out of gets and lists; filters reach members', async () => {
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Filtered', members: [{ value: users[9] }] })
    const id = String(c.json.id)
    const g = await t.req('GET', `/Groups/${id}?excludedAttributes=members`)
    expect(g.json.members).toBeUndefined()
    expect(g.json.displayName).toBe('Filtered')
    const l = await t.req('GET', `/Groups?filter=${q('displayName eq "filtered"')}&excludedAttributes=members`)
    expect(l.json.totalResults).toBe(1)
    expect((l.json.Resources ?? [])[0]?.members).toBeUndefined()
    const byMember = await t.req('GET', `/Groups?filter=${q(`members[value eq "${users[9] ?? ''}"]`)}`)
    expect((byMember.json.Resources ?? []).map((x) => x.id)).toEqual([id])
    const byMember2 = await t.req('GET', `/Groups?filter=${q(`members.value eq "${users[9] ?? ''}"`)}&attributes=displayName`)
    expect(byMember2.json.totalResults).toBe(1)
  })

  it('deleting a user removes its memberships; deleting a group removes the group and its rows', async () => {
    const u = await t.req('POST', '/Users', user('leaver@example.com'))
    const uid = String(u.json.id)
    const c = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Leavers', members: [{ value: uid }, { value: users[11] }] })
    const id = String(c.json.id)
    expect((await t.req('DELETE', `/Users/${uid}`)).status).toBe(204)
    expect(await members(id)).toEqual([users[11]])
    expect((await t.req('DELETE', `/Groups/${id}`)).status).toBe(204)
    expect((await t.req('GET', `/Groups/${id}`)).status).toBe(404)
    const after = await t.req('GET', `/Users/${users[11] ?? ''}`)
    expect(((after.json.groups as { value: string }[] | undefined) ?? []).map((g) => g.value)).not.toContain(id)
  })

  it('nested groups: a group may be a member of another, never of itself', async () => {
    const inner = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Inner' })
    const outer = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Outer', members: [{ value: inner.json.id }] })
    expect(outer.status).toBe(201)
    const g = await t.req('GET', `/Groups/${String(outer.json.id)}`)
    expect(g.json.members).toEqual([{ value: inner.json.id, $ref: `https://roster.test/scim/v2/Groups/${String(inner.json.id)}`, display: 'Inner', type: 'Group' }])
    const self = await t.req('PATCH', `/Groups/${String(outer.json.id)}`, patchOp({ op: 'add', path: 'members', value: [{ value: outer.json.id }] }))
    expect(self.status).toBe(400)
  })
})
