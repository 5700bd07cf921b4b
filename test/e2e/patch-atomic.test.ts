// A PATCH is all or nothing (RFC 7644 §3.5.2: "If any operation fails, the whole PATCH request
// is rejected and no changes are made"; docs/architecture.md INP-7): a request of hundreds of
// operations on attributes and members whose one failing operation sits at index k leaves the
// resource, the memberships on both sides and the event feed exactly as before, for k at the
// start, the middle, the end and at random places. Through a listening server, on a SQLite file
// and on PostgreSQL. Without the failing operation, the same operations are applied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { drainFeed } from '../helpers/feed-over-http.ts'
import { httpOrgs, type HttpOrg } from '../helpers/http-orgs.ts'
import { storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const OPERATIONS = 300

/** The places of the failing operation: both ends, the middle, and three random ones (printed on failure). */
function places(n: number): number[] {
  return [0, 1, Math.floor(n / 2), n - 1, n, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * (n + 1)))]
}

/** `good` with `bad` at index k. */
function withFailureAt(good: Record<string, unknown>[], bad: Record<string, unknown>, k: number): Record<string, unknown>[] {
  return [...good.slice(0, k), bad, ...good.slice(k)]
}

describe.each(storeMatrix())('PATCH all or nothing on $name', (factory) => {
  let t: TestApp
  let fresh: (name: string) => Promise<HttpOrg>
  beforeAll(async () => {
    t = await startApp(factory)
    fresh = (await httpOrgs(t)).fresh
  })
  afterAll(async () => t.close())

  const freshOrg = async (name: string) => {
    const o = await fresh(name)
    const created = async (path: string, body: unknown) => {
      const r = await o.send('POST', path, body)
      expect(r.status, r.text).toBe(201)
      return String(r.json.id)
    }
    return { send: o.send, created, feed: o.feed }
  }

  it(`a user PATCH of ${OPERATIONS} operations failing at index k changes nothing: the user, its groups, the feed`, async () => {
    const o = await freshOrg('atomic-user')
    const id = await o.created('/Users', user('atomic.many@example.com', { title: 'Before', phoneNumbers: [{ value: '+1 555 0000', type: 'work' }] }))
    const groups = [await o.created('/Groups', { schemas: [GROUP], displayName: 'Atomic A', members: [{ value: id }] }), await o.created('/Groups', { schemas: [GROUP], displayName: 'Atomic B', members: [{ value: id }] })]
    const good = Array.from({ length: OPERATIONS }, (_, i): Record<string, unknown> => {
      switch (i % 6) {
        case 0: return { op: 'replace', path: 'title', value: `Title ${i}` }
        case 1: return { op: 'add', path: 'phoneNumbers', value: [{ value: `+1 555 ${String(i).padStart(4, '0')}`, type: 'other' }] }
        case 2: return { op: 'replace', path: 'name.givenName', value: `Given ${i}` }
        case 3: return { op: 'add', path: 'emails', value: [{ value: `alias${i}@example.com`, type: 'other' }] }
        case 4: return { op: 'add', path: `${ENT}:department`, value: `Department ${i}` }
        default: return { op: 'replace', value: { displayName: `Display ${i}`, active: i % 2 === 0 } }
      }
    })
    const failing: [string, Record<string, unknown>][] = [
      ['noTarget', { op: 'replace', path: 'emails[value co "pager"].value', value: 'x@example.com' }],
      ['mutability', { op: 'replace', path: 'id', value: 'another-id' }],
      ['mutability', { op: 'add', path: 'groups', value: [{ value: groups[0] }] }],
      ['invalidPath', { op: 'replace', path: 'nosuchattr[type eq "x"]', value: 'x' }],
      ['invalidValue', { op: 'replace', path: 'active', value: 'maybe' }],
    ]
    const state = async () => ({
      user: (await o.send('GET', `/Users/${id}`)).json,
      groups: await Promise.all(groups.map(async (g) => (await o.send('GET', `/Groups/${g}`)).json)),
    })
    const before = await state()
    expect(before.user.groups).toHaveLength(2)
    await drainFeed(o.feed)
    for (const [n, k] of places(OPERATIONS).entries()) {
      const [scimType, bad] = failing[n % failing.length] ?? ['', {}]
      const r = await o.send('PATCH', `/Users/${id}`, patchOp(...withFailureAt(good, bad, k)))
      expect(r.status, `k = ${k}: ${r.text}`).toBe(400)
      expect(r.json.scimType, `k = ${k}`).toBe(scimType)
      expect(await state(), `k = ${k}`).toEqual(before)
      expect(await drainFeed(o.feed, { waitSeconds: 1 }), `k = ${k}`).toEqual([])
    }
    // The same operations without the failing one are applied, all of them.
    const applied = await o.send('PATCH', `/Users/${id}`, patchOp(...good))
    expect(applied.status, applied.text).toBe(200)
    expect(applied.json).toMatchObject({ title: `Title ${OPERATIONS - 6}`, displayName: `Display ${OPERATIONS - 1}`, [ENT]: { department: `Department ${OPERATIONS - 2}` } })
    expect(applied.json.phoneNumbers).toHaveLength(1 + OPERATIONS / 6)
    expect(applied.json.emails).toHaveLength(1 + OPERATIONS / 6)
    // The last of the operations leaves the user inactive: its update and its deactivation.
    expect(applied.json.active).toBe(false)
    expect((await drainFeed(o.feed)).map((e) => e.type)).toEqual(['user.updated', 'user.deactivated'])
  }, 60_000)

  it(`a group PATCH of ${OPERATIONS} operations on its name and members failing at index k changes nothing: the group, its members' groups, the feed`, async () => {
    const o = await freshOrg('atomic-group')
    const users: string[] = []
    for (let i = 0; i < 40; i++) users.push(await o.created('/Users', user(`atomic.member${i}@example.com`)))
    // The group holds the first 20; the operations add from the other 20 and remove from the first.
    const gid = await o.created('/Groups', { schemas: [GROUP], displayName: 'Atomic members', members: users.slice(0, 20).map((value) => ({ value })) })
    const good = Array.from({ length: OPERATIONS }, (_, i): Record<string, unknown> => {
      switch (i % 4) {
        case 0: return { op: 'replace', path: 'displayName', value: `Atomic ${i}` }
        case 1: return { op: 'add', path: 'members', value: [{ value: users[20 + (i % 20)] }] }
        case 2: return { op: 'remove', path: `members[value eq "${users[i % 20] ?? ''}"]` }
        default: return { op: 'replace', path: 'externalId', value: `external-${i}` }
      }
    })
    const failing: [string, Record<string, unknown>][] = [
      ['invalidValue', { op: 'add', path: 'members', value: [{ value: users[39] }, { value: 'no-such-member' }] }],
      ['invalidValue', { op: 'add', path: 'members', value: [{ value: gid }] }],
      ['invalidPath', { op: 'add', path: `members[value eq "${users[0] ?? ''}"]`, value: [{ value: users[0] }] }],
      ['mutability', { op: 'replace', path: 'id', value: 'another-id' }],
      ['mutability', { op: 'replace', path: `members[value eq "${users[1] ?? ''}"].display`, value: 'x' }],
    ]
    const state = async () => ({
      group: (await o.send('GET', `/Groups/${gid}`)).json,
      users: await Promise.all(users.map(async (u) => (await o.send('GET', `/Users/${u}`)).json)),
    })
    const before = await state()
    await drainFeed(o.feed)
    for (const [n, k] of places(OPERATIONS).entries()) {
      const [scimType, bad] = failing[n % failing.length] ?? ['', {}]
      const r = await o.send('PATCH', `/Groups/${gid}`, patchOp(...withFailureAt(good, bad, k)))
      expect(r.status, `k = ${k}: ${r.text}`).toBe(400)
      expect(r.json.scimType, `k = ${k}`).toBe(scimType)
      expect(await state(), `k = ${k}`).toEqual(before)
      expect(await drainFeed(o.feed, { waitSeconds: 1 }), `k = ${k}`).toEqual([])
    }
    const applied = await o.send('PATCH', `/Groups/${gid}`, patchOp(...good))
    expect(applied.status, applied.text).toBe(204)
    const after = (await o.send('GET', `/Groups/${gid}`)).json
    expect(after).toMatchObject({ displayName: `Atomic ${OPERATIONS - 4}`, externalId: `external-${OPERATIONS - 1}` })
    // Every one of the first 20 was removed (i % 4 = 2 reaches each i % 20 = 2, 6, …: the even
    // ones), and every one of the second 20 at i % 20 = 1, 5, … added.
    const expected = [...users.slice(0, 20).filter((_, j) => !good.some((_op, i) => i % 4 === 2 && i % 20 === j)), ...users.slice(20).filter((_, j) => good.some((_op, i) => i % 4 === 1 && i % 20 === j))]
    expect(((after.members as { value: string }[] | undefined) ?? []).map((m) => m.value).sort()).toEqual(expected.sort())
    const events = await drainFeed(o.feed)
    expect(events.filter((e) => e.type === 'group.updated')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'group.member_added')).toHaveLength(expected.filter((u) => users.indexOf(u) >= 20).length)
    expect(events.filter((e) => e.type === 'group.member_removed')).toHaveLength(20 - expected.filter((u) => users.indexOf(u) < 20).length)
  }, 60_000)
})
