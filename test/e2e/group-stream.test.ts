// GET /Groups/{id} of a group above the streaming limit, on each store through the HTTP server:
// its members are read a page at a time and streamed (src/http/scim/group-stream.ts); the
// answer is the representation the unstreamed path gives, with its ETag and 304; and a membership
// change committed while the members are being sent cuts the response off rather than finishing
// a member list that never existed (RFC 7644 §3.4.1 asks for the resource's current state).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
type Json = Record<string, unknown>

describe.each(storeMatrix())('large groups streamed on $name', (factory) => {
  let t: TestApp
  let ids: string[] = []
  let nested = ''
  beforeAll(async () => {
    // Above 20 members a group is streamed, 7 members a page: the test's 51 take 8 pages.
    t = await startApp(factory, { streamMembersOver: 20, memberPageSize: 7 })
    ids = []
    for (let i = 0; i < 50; i++) {
      const r = await t.req('POST', '/Users', user(`member${i}@example.com`, { displayName: i % 2 ? `Member ${i}` : undefined }))
      expect(r.status, r.text).toBe(201)
      ids.push(String(r.json.id))
    }
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Nested' })
    nested = String(g.json.id)
  })
  afterAll(async () => t.close())

  const sorted = (members: unknown) => [...(members as Json[])].sort((a, b) => String(a.value).localeCompare(String(b.value)))

  it('answers the same representation as the unstreamed path, with its ETag and 304', async () => {
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Everyone', externalId: 'ext-all', members: [...ids.map((value) => ({ value })), { value: nested }] })
    expect(g.status, g.text).toBe(201)
    const id = String(g.json.id)
    const streamed = await t.req('GET', `/Groups/${id}`)
    expect(streamed.status).toBe(200)
    expect(streamed.headers['content-type']).toMatch(/^application\/scim\+json/)
    expect(streamed.headers.etag).toBe('W/"1"')
    // The projected path reads the members the usual way.
    const plain = await t.req('GET', `/Groups/${id}?attributes=members,displayName,externalId`)
    expect(plain.status).toBe(200)
    const members = sorted(streamed.json.members)
    expect(members).toHaveLength(51)
    expect(members).toEqual(sorted(plain.json.members))
    expect(members.find((m) => m.value === nested)).toMatchObject({ type: 'Group', display: 'Nested', $ref: `https://roster.test/scim/v2/Groups/${nested}` })
    expect(members.find((m) => m.value === ids[1])).toMatchObject({ type: 'User', display: 'Member 1' })
    const { members: _m, ...rest } = streamed.json
    expect(rest).toEqual({ schemas: [GROUP], id, displayName: 'Everyone', externalId: 'ext-all', meta: streamed.json.meta })
    expect((streamed.json.meta as Json).version).toBe('W/"1"')
    expect((await t.req('GET', `/Groups/${id}`, undefined, { headers: { 'if-none-match': 'W/"1"' } })).status).toBe(304)
    // A group at or under the limit is answered the usual way.
    const small = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Few', members: ids.slice(0, 20).map((value) => ({ value })) })
    expect(sorted((await t.req('GET', `/Groups/${String(small.json.id)}`)).json.members)).toHaveLength(20)
  })

  it('cuts the response off when a membership change commits while the members are being sent', async () => {
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Moving', members: ids.map((value) => ({ value })) })
    expect(g.status, g.text).toBe(201)
    const id = String(g.json.id)
    expect(t.store).toBe(t.deps.store)
    const store = t.store as Store & { groupMembersPage: Store['groupMembersPage'] }
    const original = store.groupMembersPage
    let calls = 0
    store.groupMembersPage = async (...args) => {
      // Between the second and the third page, another request removes a member.
      if (++calls === 3) expect((await t.req('PATCH', `/Groups/${id}`, patchOp({ op: 'remove', path: `members[value eq "${ids[0]}"]` }))).status).toBe(204)
      return original.apply(store, args)
    }
    try {
      // Never a complete document: the transfer is cut off (the client sees the body end early).
      await expect(t.req('GET', `/Groups/${id}`)).rejects.toThrow(/terminated|destroyed before completion/)
      expect(calls).toBeGreaterThan(3)
    } finally {
      store.groupMembersPage = original
    }
    const after = await t.req('GET', `/Groups/${id}`)
    expect(after.status).toBe(200)
    expect(sorted(after.json.members)).toHaveLength(49)
  })
})
