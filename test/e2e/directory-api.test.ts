// The directory API end to end (src/http/api/directory.ts): users and groups provisioned over
// SCIM, read back through /api/v1 in the application's shape (src/directory/shape.ts), a page at
// a time with cursors that stay exact while other requests write, single resources with their
// version as an ETag, a user's groups and a group's members. Read with the typed client
// (`roster/client`) over HTTP, as an application reads them; malformed parameters, which the
// client's types do not allow, are sent raw.
import type { ApiGroup, ApiMember, ApiUser, RosterClient } from 'roster/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { apiGet, type ApiErrorBody, type ApiGet, type Json } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { typedClient } from '../helpers/typed-client.ts'

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const CUSTOM = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENTRA_UA = 'Microsoft Azure AD SCIM provisioning 1.0.0'
const OKTA_UA = 'Okta SCIM Client 1.0.0'

const ZERO = '00000000-0000-7000-8000-000000000000'

/** What the client answers for one page of a list (the error side has no data). */
interface PageAnswer<T> {
  readonly data?: { readonly data: T[]; readonly nextCursor: string | null }
  readonly response: Response
}
/** What the client answers for one user. */
interface UserAnswer {
  readonly data?: ApiUser
  readonly response: Response
}

describe.each(storeMatrix())('directory API on $name', (factory) => {
  let t: TestApp
  let api: ApiGet
  let client: RosterClient
  let key = ''
  let skewMs = 0

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(Date.now() + skewMs) })
    key = (await createApiKey(t.deps, { name: 'directory', orgId: null, scopes: ['directory:read'], expiresAt: null })).key
    api = apiGet(t, () => key)
    client = await typedClient(t, key)
  })
  afterAll(async () => t.close())

  /** A fresh organization for a test that counts what a list holds. */
  const freshOrg = async () => {
    const o = await t.newOrg(`dir-${Math.random().toString(36).slice(2)}`)
    return {
      ...o,
      req: (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown) => t.req(method, path, body, { token: o.token }),
    }
  }
  const createUsers = async (token: string, prefix: string, n: number): Promise<string[]> => {
    const rs = await Promise.all(Array.from({ length: n }, (_, i) => t.req('POST', '/Users', user(`${prefix}${String(i).padStart(3, '0')}@example.com`), { token })))
    for (const r of rs) expect(r.status).toBe(201)
    return rs.map((r) => String(r.json.id))
  }
  /** Every page of a list, following nextCursor until it is null; `read` asks for the page after `cursor`. */
  const walk = async <T>(read: (cursor: string | undefined) => Promise<PageAnswer<T>>): Promise<{ pages: T[][]; all: T[] }> => {
    const pages: T[][] = []
    let cursor: string | undefined
    do {
      const r = await read(cursor)
      expect(r.response.status).toBe(200)
      pages.push(r.data?.data ?? [])
      cursor = r.data?.nextCursor ?? undefined
    } while (cursor !== undefined && pages.length < 1_000)
    return { pages, all: pages.flat() }
  }
  const users = (org: string, query: { limit?: number; filter?: string; updatedSince?: string } = {}) => (cursor?: string) =>
    client.GET('/api/v1/orgs/{org}/users', { params: { path: { org }, query: { ...query, cursor } } })
  const getUser = (org: string, id: string, ifNoneMatch?: string) =>
    client.GET('/api/v1/orgs/{org}/users/{id}', { params: { path: { org, id }, ...(ifNoneMatch ? { header: { 'if-none-match': ifNoneMatch } } : {}) } })
  const membersOf = (org: string, id: string, limit?: number) => (cursor?: string) =>
    client.GET('/api/v1/orgs/{org}/groups/{id}/members', { params: { path: { org, id }, query: { limit, cursor } } })
  const getGroup = (org: string, id: string, ifNoneMatch?: string) =>
    client.GET('/api/v1/orgs/{org}/groups/{id}', { params: { path: { org, id }, ...(ifNoneMatch ? { header: { 'if-none-match': ifNoneMatch } } : {}) } })

  it('shows a user created over SCIM field by field: emails, phones, name, enterprise extension with manager, who manages it, and unknown attributes under customAttributes', async () => {
    const mgr = await t.req('POST', '/Users', user('boss@example.com', { displayName: 'The Boss' }), { headers: { 'user-agent': OKTA_UA } })
    expect(mgr.status).toBe(201)
    const mgrId = String(mgr.json.id)
    const sent = {
      schemas: [CORE, ENTERPRISE, CUSTOM],
      externalId: 'ext-grace',
      userName: 'Grace.Hopper@example.com',
      name: { givenName: 'Grace', familyName: 'Hopper', formatted: 'Grace Hopper' },
      displayName: 'Grace Hopper',
      nickName: 'Amazing Grace',
      title: 'Rear Admiral',
      userType: 'Employee',
      preferredLanguage: 'en-US',
      locale: 'en-US',
      timezone: 'America/New_York',
      active: true,
      emails: [{ value: 'grace@home.example.org', type: 'home' }, { value: 'grace.hopper@example.com', type: 'work', primary: true }],
      phoneNumbers: [{ value: '+1 555 0100', type: 'work', primary: true }, { value: '+1 555 0199', type: 'mobile' }],
      [ENTERPRISE]: { employeeNumber: '1906', department: 'Navy', costCenter: 'CC-7', manager: { value: mgrId } },
      favoriteColor: 'green',
      [CUSTOM]: { shoeSize: 38, badges: ['cobol'] },
    }
    const c = await t.req('POST', '/Users', sent, { headers: { 'user-agent': ENTRA_UA } })
    expect(c.status, c.text).toBe(201)
    const id = String(c.json.id)

    const r = await getUser(t.orgId, id)
    expect(r.response.status).toBe(200)
    expect(r.data).toEqual({
      id,
      externalId: 'ext-grace',
      userName: 'Grace.Hopper@example.com',
      email: 'grace.hopper@example.com',
      emails: [{ value: 'grace@home.example.org', type: 'home', primary: false }, { value: 'grace.hopper@example.com', type: 'work', primary: true }],
      name: { givenName: 'Grace', familyName: 'Hopper', formatted: 'Grace Hopper' },
      displayName: 'Grace Hopper',
      nickName: 'Amazing Grace',
      title: 'Rear Admiral',
      userType: 'Employee',
      preferredLanguage: 'en-US',
      locale: 'en-US',
      timezone: 'America/New_York',
      phoneNumbers: [{ value: '+1 555 0100', type: 'work', primary: true }, { value: '+1 555 0199', type: 'mobile', primary: false }],
      addresses: [],
      active: true,
      // Invitations are on by default: a user an identity provider creates waits for its acceptance.
      state: 'pending',
      enterprise: { employeeNumber: '1906', department: 'Navy', costCenter: 'CC-7', manager: { id: mgrId, displayName: null } },
      // No schema declared: the unknown extension stays under customAttributes; no mapping, no fields.
      extensions: {},
      fields: {},
      managedBy: 'scim',
      identityProvider: 'entra',
      customAttributes: { favoriteColor: 'green', [CUSTOM]: { shoeSize: 38, badges: ['cobol'] } },
      metadata: {},
      createdAt: c.json.meta && (c.json.meta as Json).created,
      updatedAt: c.json.meta && (c.json.meta as Json).lastModified,
      version: 1,
    })
    expect(r.response.headers.get('etag')).toBe('W/"1"')
    // The manager was created by Okta.
    expect((await getUser(t.orgId, mgrId)).data).toMatchObject({ identityProvider: 'okta', displayName: 'The Boss', enterprise: null, customAttributes: {} })

    // SCIM never returns what no schema declares.
    const scim = await t.req('GET', `/Users/${id}`)
    expect(scim.status).toBe(200)
    expect(scim.json).not.toHaveProperty('favoriteColor')
    expect(scim.json).not.toHaveProperty(CUSTOM)
    expect(scim.json.schemas).not.toContain(CUSTOM)
    expect(scim.text).not.toContain('shoeSize')

    // Deactivated over SCIM: active false, state suspended; a PATCH keeps the custom attributes.
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(200)
    const off = await getUser(t.orgId, id)
    expect(off.data).toMatchObject({ active: false, state: 'suspended', version: 2, customAttributes: { favoriteColor: 'green' } })
  })

  it('lists users a page at a time: data and nextCursor, null after the last page; limit bounds a page', async () => {
    const o = await freshOrg()
    const ids = (await createUsers(o.token, 'page', 7)).sort()
    const { pages, all } = await walk(users(o.orgId, { limit: 3 }))
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
    expect(all.map((u) => u.id)).toEqual(ids)
    // A last page that is exactly full still carries a cursor; the page after it is empty and ends the walk.
    const exact = await walk(users(o.orgId, { limit: 7 }))
    expect(exact.pages.map((p) => p.length)).toEqual([7, 0])
    const dflt = await users(o.orgId)()
    expect(dflt.data?.data).toHaveLength(7)
    expect(dflt.data?.nextCursor).toBeNull()
    // Another organization's users are never in the list.
    expect(all.every((u) => !u.userName.startsWith('mine'))).toBe(true)
  })

  it('refuses a bad limit, cursor, filter or updatedSince with 400 invalid_parameter naming the parameter', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=ten', 'limit'],
      ['cursor=%25%25', 'cursor'], ['cursor=AAAA', 'cursor'],
      [`filter=${encodeURIComponent('userName eq')}`, 'filter'], [`filter=${encodeURIComponent('userName zz "a"')}`, 'filter'], [`filter=${encodeURIComponent('(active eq true')}`, 'filter'],
      ['updatedSince=yesterday', 'updatedSince'], ['updatedSince=2026-13-45T00:00:00Z', 'updatedSince'],
    ]
    for (const [q, name] of cases) {
      const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/users?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.json.error, q).toBe('invalid_parameter')
      expect(r.json.message.startsWith(`${name}:`), `${q}: ${r.json.message}`).toBe(true)
    }
    expect((await api<ApiErrorBody>(`/orgs/${t.orgId}/groups?filter=${encodeURIComponent('displayName eq')}`)).json.error).toBe('invalid_parameter')
    for (const path of [`users/${ZERO}/groups`, `groups/${ZERO}/members`]) {
      for (const [q, name] of [['limit=0', 'limit'], ['cursor=%25', 'cursor']] as const) {
        const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/${path}?${q}`)
        expect(r.status, `${path}?${q}`).toBe(400)
        expect(r.json.message.startsWith(`${name}:`)).toBe(true)
      }
    }
  })

  it('a filter that parses but that the schema refuses (unknown attribute, wrong value type, password) is a 400 naming filter, not a 500', async () => {
    // These were 500s: the store finds them when it compiles the filter to SQL (SCIM answers 400 invalidFilter).
    const users = ['favoriteColor eq "green"', 'urn:example:nope:department eq "Navy"', 'password pr', 'userName gt 5', 'active eq "true"']
    const groups = ['userName eq "x"', 'displayName eq 5']
    for (const [kind, filters] of [['users', users], ['groups', groups]] as const) {
      for (const f of filters) {
        const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/${kind}?filter=${encodeURIComponent(f)}`)
        expect(r.status, `${kind} ${f}: ${r.text}`).toBe(400)
        expect(r.json.error).toBe('invalid_parameter')
        expect(r.json.message.startsWith('filter:'), r.json.message).toBe(true)
      }
    }
  })

  it('filters users with SCIM filter syntax, also across pages', async () => {
    const o = await freshOrg()
    const ids = await createUsers(o.token, 'flt', 6)
    expect((await o.req('PATCH', `/Users/${ids[1] ?? ''}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(200)
    expect((await o.req('PATCH', `/Users/${ids[4] ?? ''}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(200)
    const inactive = await walk(users(o.orgId, { filter: 'active eq false', limit: 1 }))
    expect(inactive.all.map((u) => u.id).sort()).toEqual([ids[1], ids[4]].sort())
    const one = (await users(o.orgId, { filter: 'userName eq "FLT003@EXAMPLE.COM"' })()).data?.data ?? []
    expect(one.map((u) => u.id)).toEqual([ids[3]])
    const emails = (await users(o.orgId, { filter: 'emails[type eq "work" and value sw "flt00"] and not (active eq false)' })()).data?.data ?? []
    expect(emails.map((u) => u.id).sort()).toEqual([ids[0], ids[2], ids[3], ids[5]].sort())
  })

  it('updatedSince lists only users changed at or after that instant', async () => {
    const o = await freshOrg()
    const ids = await createUsers(o.token, 'since', 4)
    const from = new Date(Date.now() + skewMs + 30 * 60_000).toISOString()
    skewMs += 3_600_000
    try {
      expect((await o.req('PATCH', `/Users/${ids[2] ?? ''}`, patchOp({ op: 'add', path: 'title', value: 'Changed' }))).status).toBe(200)
      const [later] = await createUsers(o.token, 'since-later', 1)
      const r = await users(o.orgId, { updatedSince: from })()
      expect(r.data?.data.map((u) => u.id).sort()).toEqual([ids[2], later].sort())
      expect((await users(o.orgId, { updatedSince: '2000-01-01' })()).data?.data).toHaveLength(5)
    } finally {
      skewMs = 0
    }
  })

  it('finds a user by id, by externalId and by userName (case-insensitively), with its version as ETag and 304 on If-None-Match', async () => {
    const c = await t.req('POST', '/Users', user('Find.Me@example.com', { externalId: 'ext/find me' }))
    expect(c.status).toBe(201)
    const id = String(c.json.id)
    // The client encodes path parameters: ext%2Ffind%20me, find.me%40example.com.
    const byExternalId = (value: string, ifNoneMatch?: string) =>
      client.GET('/api/v1/orgs/{org}/users/by-external-id/{value}', { params: { path: { org: t.orgId, value }, ...(ifNoneMatch ? { header: { 'if-none-match': ifNoneMatch } } : {}) } })
    const byUserName = (value: string, ifNoneMatch?: string) =>
      client.GET('/api/v1/orgs/{org}/users/by-user-name/{value}', { params: { path: { org: t.orgId, value }, ...(ifNoneMatch ? { header: { 'if-none-match': ifNoneMatch } } : {}) } })
    const lookups: [string, (ifNoneMatch?: string) => Promise<UserAnswer>][] = [
      ['id', (inm) => getUser(t.orgId, id, inm)],
      ['externalId', (inm) => byExternalId('ext/find me', inm)],
      ['userName in capitals', (inm) => byUserName('FIND.ME@EXAMPLE.COM', inm)],
      ['userName in lower case', (inm) => byUserName('find.me@example.com', inm)],
    ]
    for (const [by, read] of lookups) {
      const r = await read()
      expect(r.response.status, by).toBe(200)
      expect(r.data).toMatchObject({ id, userName: 'Find.Me@example.com', externalId: 'ext/find me', version: 1 })
      expect(r.response.headers.get('etag')).toBe('W/"1"')
      const cached = await read('W/"1"')
      expect(cached.response.status, by).toBe(304)
      expect(cached.data).toBeUndefined()
    }
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'add', path: 'title', value: 'Found' }))).status).toBe(200)
    const stale = await getUser(t.orgId, id, 'W/"1"')
    expect(stale.response.status).toBe(200)
    expect(stale.response.headers.get('etag')).toBe('W/"2"')
    expect(stale.data).toMatchObject({ title: 'Found', version: 2 })
    for (const [by, r] of [['id', await getUser(t.orgId, ZERO)], ['externalId', await byExternalId('nobody')], ['userName', await byUserName('nobody@example.com')]] as const) {
      expect(r.response.status, by).toBe(404)
      expect(r.error?.error).toBe('not_found')
    }
  })

  it("pages a user's groups, each in the group shape with its memberCount; an unknown user is a 404", async () => {
    const o = await freshOrg()
    const [u, v] = await createUsers(o.token, 'ug', 2)
    const gids: string[] = []
    for (const name of ['G-one', 'G-two', 'G-three']) {
      const g = await o.req('POST', '/Groups', { schemas: [GROUP], displayName: name, members: [{ value: u }, ...(name === 'G-two' ? [{ value: v }] : [])] })
      expect(g.status).toBe(201)
      gids.push(String(g.json.id))
    }
    const groupsOf = (id: string, limit?: number) => (cursor?: string) =>
      client.GET('/api/v1/orgs/{org}/users/{id}/groups', { params: { path: { org: o.orgId, id }, query: { limit, cursor } } })
    const { pages, all } = await walk(groupsOf(u ?? '', 2))
    expect(pages.map((p) => p.length)).toEqual([2, 1])
    expect(all.map((g) => g.id)).toEqual([...gids].sort())
    expect(all.find((g) => g.displayName === 'G-two')).toMatchObject({ memberCount: 2, managedBy: 'scim', version: 1, externalId: null })
    expect((await groupsOf(v ?? '')()).data?.data.map((g) => g.displayName)).toEqual(['G-two'])
    expect((await groupsOf(ZERO)()).response.status).toBe(404)
  })

  it('lists groups, reads one with memberCount and ETag, and pages its members as { id, type, display }', async () => {
    const o = await freshOrg()
    const uids = await createUsers(o.token, 'mem', 5)
    const named = await o.req('POST', '/Users', user('named@example.com', { displayName: 'Named Person' }))
    const inner = await o.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Inner' })
    const outer = await o.req('POST', '/Groups', {
      schemas: [GROUP], displayName: 'Outer', externalId: 'okta-outer',
      members: [...uids.map((value) => ({ value })), { value: named.json.id }, { value: inner.json.id }],
    })
    expect(outer.status).toBe(201)
    const gid = String(outer.json.id)

    const groups = (query: { limit?: number; filter?: string }) => (cursor?: string) =>
      client.GET('/api/v1/orgs/{org}/groups', { params: { path: { org: o.orgId }, query: { ...query, cursor } } })
    const listed = await walk(groups({ limit: 1 }))
    expect(listed.all.map((g) => g.displayName).sort()).toEqual(['Inner', 'Outer'])
    const g = await getGroup(o.orgId, gid)
    const group: ApiGroup | undefined = g.data
    expect(Object.keys(group ?? {}).sort()).toEqual(['createdAt', 'displayName', 'extensions', 'externalId', 'id', 'identityProvider', 'managedBy', 'memberCount', 'updatedAt', 'version'])
    expect(group).toMatchObject({ id: gid, externalId: 'okta-outer', displayName: 'Outer', memberCount: 7, managedBy: 'scim', version: 1 })
    expect(group?.createdAt).toBe((outer.json.meta as Json).created)
    expect(g.response.headers.get('etag')).toBe('W/"1"')
    expect((await getGroup(o.orgId, gid, 'W/"1"')).response.status).toBe(304)
    const filtered = await groups({ filter: 'displayName eq "inner"' })()
    expect(filtered.data?.data.map((x) => x.id)).toEqual([inner.json.id])

    const members = await walk(membersOf(o.orgId, gid, 3))
    expect(members.pages.map((p) => p.length)).toEqual([3, 3, 1])
    const expected: ApiMember[] = [
      ...uids.map((id, i) => ({ id, type: 'user' as const, display: `mem${String(i).padStart(3, '0')}@example.com` })),
      { id: String(named.json.id), type: 'user' as const, display: 'Named Person' },
      { id: String(inner.json.id), type: 'group' as const, display: 'Inner' },
    ].sort((a, b) => (a.id < b.id ? -1 : 1))
    expect(members.all).toEqual(expected)
    expect((await getGroup(o.orgId, ZERO)).response.status).toBe(404)
    expect((await membersOf(o.orgId, ZERO)()).response.status).toBe(404)
  })

  it('walking the user list page by page while other users are created and deleted shows every user that existed throughout exactly once', async () => {
    const o = await freshOrg()
    const initial = await createUsers(o.token, 'walk', 60)
    // Every third user is deleted during the walk: those ahead of the cursor and those behind it.
    const doomed = initial.filter((_, i) => i % 3 === 1)
    const stable = initial.filter((_, i) => i % 3 !== 1)
    const seen: string[] = []
    let cursor: string | undefined
    let round = 0
    do {
      const r: PageAnswer<ApiUser> = await users(o.orgId, { limit: 7 })(cursor)
      expect(r.response.status).toBe(200)
      seen.push(...(r.data?.data ?? []).map((u) => u.id))
      cursor = r.data?.nextCursor ?? undefined
      // Between pages: two deletes (from both ends of the id order) and three creates.
      const del = [doomed.shift(), doomed.pop()].filter((x): x is string => x !== undefined)
      await Promise.all([
        ...del.map((id) => o.req('DELETE', `/Users/${id}`).then((d) => expect(d.status).toBe(204))),
        createUsers(o.token, `walk-new-${round}-`, 3),
      ])
      round++
    } while (cursor !== undefined && round < 100)
    expect(doomed).toEqual([])
    expect(new Set(seen).size).toBe(seen.length)
    const seenSet = new Set(seen)
    expect(stable.filter((id) => !seenSet.has(id))).toEqual([])
  })

  it('memberCount and the group version follow PATCH add and remove, PUT with members, and the DELETE of a member user; the ETag changes each time', async () => {
    const o = await freshOrg()
    const [a, b, c, d] = await createUsers(o.token, 'count', 4) as [string, string, string, string]
    const g = await o.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Counted', members: [{ value: a }] })
    const gid = String(g.json.id)
    const etags: string[] = []
    const read = async (expected: number): Promise<ApiGroup> => {
      const r = await getGroup(o.orgId, gid)
      if (!r.data) throw new Error(`group answered ${r.response.status}`)
      expect(r.data.memberCount).toBe(expected)
      expect(r.response.headers.get('etag')).toBe(`W/"${r.data.version}"`)
      etags.push(String(r.response.headers.get('etag')))
      return r.data
    }
    expect(await read(1)).toMatchObject({ version: 1 })
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }, { value: c }] }))).status).toBe(204)
    await read(3)
    // Adding a member again changes nothing: same count, same version.
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: b }] }))).status).toBe(204)
    expect((await getGroup(o.orgId, gid)).data?.version).toBe(2)
    expect((await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${a}"]` }))).status).toBe(204)
    await read(2)
    expect((await o.req('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'Counted', members: [{ value: b }, { value: c }, { value: d }] })).status).toBe(200)
    await read(3)
    const beforeDelete = await read(3)
    const cached = await getGroup(o.orgId, gid, `W/"${beforeDelete.version}"`)
    expect(cached.response.status).toBe(304)
    expect((await o.req('DELETE', `/Users/${c}`)).status).toBe(204)
    const after = await read(2)
    expect(after.version).toBe(beforeDelete.version + 1)
    expect((await getGroup(o.orgId, gid, `W/"${beforeDelete.version}"`)).response.status).toBe(200)
    const members: ApiMember[] = (await membersOf(o.orgId, gid)()).data?.data ?? []
    expect(members.map((m) => m.id).sort()).toEqual([b, d].sort())
    expect(new Set(etags.slice(0, 4)).size).toBe(4)
    // PUT without members empties the group.
    expect((await o.req('PUT', `/Groups/${gid}`, { schemas: [GROUP], displayName: 'Counted' })).status).toBe(200)
    await read(0)
  })
})
