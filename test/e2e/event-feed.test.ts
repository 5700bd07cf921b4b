// The event feed as a consumer follows it (src/http/api/events.ts): GET
// /api/v1/orgs/{org}/events?after=&limit=&types=&wait= answers `{ data, nextCursor }`, always with
// a cursor; asking again from each answer's cursor sees every event once; `types` filters and a
// filtered answer still moves the cursor past what it skipped; `wait` long-polls until an event
// is written; a cursor older than the retention is a 410 with a cursor to resynchronise from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { FeedReader, apiGet, typesOf, type ApiErrorBody, type ApiGet, type FeedPage } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'

const DAY = 86_400_000

describe.each(storeMatrix())('event feed on $name', (factory) => {
  let t: TestApp
  let api: ApiGet
  let skewMs = 0

  beforeAll(async () => {
    t = await startApp(factory, {}, { now: () => new Date(Date.now() + skewMs) })
    const key = (await createApiKey(t.deps, { name: 'feed', orgId: null, scopes: ['events:read'], expiresAt: null })).key
    api = apiGet(t, () => key)
  })
  afterAll(async () => t.close())

  const freshOrg = async () => {
    const o = await t.newOrg(`feed-${Math.random().toString(36).slice(2)}`)
    const createUsers = async (prefix: string, n: number) => {
      const ids: string[] = []
      // One after another: the feed's order is then the order of the ids.
      for (let i = 0; i < n; i++) {
        const r = await t.req('POST', '/Users', user(`${prefix}${i}@example.com`), { token: o.token })
        expect(r.status).toBe(201)
        ids.push(String(r.json.id))
      }
      return ids
    }
    return { ...o, createUsers, feed: new FeedReader(api, o.orgId) }
  }

  it('an organization without events answers an empty page with a cursor, and asking from it again answers the same', async () => {
    const o = await freshOrg()
    const first = await o.feed.page()
    expect(first.data).toEqual([])
    expect(typeof first.nextCursor).toBe('string')
    const again = await o.feed.page()
    expect(again.data).toEqual([])
  })

  it('paging with after and limit sees every event once, in the order written; limit bounds each page', async () => {
    const o = await freshOrg()
    const ids = await o.createUsers('page', 23)
    // Wait until every event is readable (on PostgreSQL, once stamped), from a reader of its own.
    expect(await new FeedReader(api, o.orgId).take(23)).toHaveLength(23)
    const sizes: number[] = []
    const seen: string[] = []
    for (let i = 0; i < 20; i++) {
      const p = await o.feed.page({ limit: 5 })
      sizes.push(p.data.length)
      seen.push(...p.data.map((e) => e.data.id))
      if (p.data.length === 0) break
    }
    expect(sizes).toEqual([5, 5, 5, 5, 3, 0])
    expect(seen).toEqual(ids)
    // A second consumer with a larger page sees the same events with the same ids.
    const all = await api<FeedPage>(`/orgs/${o.orgId}/events?limit=1000`)
    expect(all.json.data.map((e) => e.data.id)).toEqual(ids)
    expect(new Set(all.json.data.map((e) => e.id)).size).toBe(23)
    // Without limit a page holds at most 100.
    const more = await freshOrg()
    await Promise.all(Array.from({ length: 4 }, (_, k) => more.createUsers(`many${k}-`, 30)))
    expect(await new FeedReader(api, more.orgId).take(120)).toHaveLength(120)
    expect((await more.feed.page()).data).toHaveLength(100)
    expect((await more.feed.page()).data).toHaveLength(20)
  })

  it('a page may end inside one change\'s membership events: the next page goes on from the next member, filtered or not', async () => {
    const o = await freshOrg()
    const members = await o.createUsers('row', 5)
    const g = await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Row', members: members.map((value) => ({ value })) }, { token: o.token })
    expect(g.status).toBe(201)
    expect((await t.req('DELETE', `/Users/${members[4] ?? ''}`, undefined, { token: o.token })).status).toBe(204)
    // 5 user.created, group.created, 5 group.member_added, user.deleted, group.member_removed.
    expect(await new FeedReader(api, o.orgId).take(13)).toHaveLength(13)
    const sizes: number[] = []
    const seen: string[] = []
    for (let i = 0; i < 10; i++) {
      const p = await o.feed.page({ limit: 4 })
      sizes.push(p.data.length)
      seen.push(...p.data.map((e) => `${e.type} ${e.data.member?.id ?? e.data.id}`))
      if (p.data.length === 0) break
    }
    expect(sizes).toEqual([4, 4, 4, 1, 0])
    expect(seen).toEqual([
      ...members.map((id) => `user.created ${id}`), `group.created ${String(g.json.id)}`, ...members.map((id) => `group.member_added ${id}`),
      `user.deleted ${members[4] ?? ''}`, `group.member_removed ${members[4] ?? ''}`,
    ])
    // Stop inside the membership events (after the group and two members), then go on with a filter.
    const filtered = new FeedReader(api, o.orgId)
    await filtered.page({ limit: 8 })
    const rest = await filtered.page({ types: 'group.member_added,group.member_removed' })
    expect(rest.data.map((e) => `${e.type} ${e.data.member?.id ?? ''}`)).toEqual([
      ...members.slice(2).map((id) => `group.member_added ${id}`), `group.member_removed ${members[4] ?? ''}`,
    ])
    // The same stop, then a filter that excludes them: the rest of that change is skipped, not served later.
    const other = new FeedReader(api, o.orgId)
    await other.page({ limit: 8 })
    expect((await other.page({ types: 'user.deleted' })).data.map((e) => e.type)).toEqual(['user.deleted'])
    expect((await other.page()).data).toEqual([])
    // Each event has its own id.
    const ids = (await api<FeedPage>(`/orgs/${o.orgId}/events?limit=1000`)).json.data.map((e) => e.id)
    expect(new Set(ids).size).toBe(13)
  })

  it('types= filters the feed; a filtered answer with nothing to show still moves the cursor past the events it skipped', async () => {
    const o = await freshOrg()
    const [a, b] = await o.createUsers('typed', 2)
    await new FeedReader(api, o.orgId).take(2)
    // Nothing of these types yet: an empty answer whose cursor is past both user.created.
    const quiet = await o.feed.page({ types: 'user.deleted,group.created' })
    expect(quiet.data).toEqual([])
    expect((await o.feed.page()).data).toEqual([])
    expect((await t.req('PATCH', `/Users/${a ?? ''}`, patchOp({ op: 'replace', path: 'active', value: false }), { token: o.token })).status).toBe(200)
    expect((await t.req('DELETE', `/Users/${b ?? ''}`, undefined, { token: o.token })).status).toBe(204)
    const deleted = await o.feed.take(1, { types: 'user.deleted,user.deactivated' })
    const rest = await o.feed.take(1, { types: 'user.deleted,user.deactivated' })
    expect(typesOf([...deleted, ...rest])).toEqual(['user.deactivated', 'user.deleted'])
    // The user.updated between them was skipped, not held back: a consumer without the filter sees nothing more.
    expect((await o.feed.page()).data).toEqual([])
    const bad = await api<ApiErrorBody>(`/orgs/${o.orgId}/events?types=user.created,user.exploded`)
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: 'invalid_parameter', message: expect.stringMatching(/^types: .*user\.exploded/) })
  })

  it('refuses a bad limit, wait or cursor with 400 invalid_parameter naming it', async () => {
    const cases: [string, string][] = [
      ['limit=0', 'limit'], ['limit=1001', 'limit'], ['wait=31', 'wait'], ['wait=-1', 'wait'], ['wait=soon', 'wait'],
      ['after=not-a-cursor!', 'after'], [`after=${Buffer.from('12').toString('base64url')}`, 'after'],
      [`after=${Buffer.from('x.y').toString('base64url')}`, 'after'], ['after=%00', 'after'],
    ]
    for (const [q, name] of cases) {
      const r = await api<ApiErrorBody>(`/orgs/${t.orgId}/events?${q}`)
      expect(r.status, q).toBe(400)
      expect(r.json.error, q).toBe('invalid_parameter')
      expect(r.json.message.startsWith(`${name}:`), r.json.message).toBe(true)
    }
  })

  it('wait= answers as soon as a concurrent request writes an event, and after the wait (2 s) with no event otherwise', async () => {
    const o = await freshOrg()
    await o.feed.page()
    const started = Date.now()
    const polling = o.feed.page({ wait: 5 })
    await new Promise((r) => setTimeout(r, 300))
    const [id] = await o.createUsers('woken', 1)
    const woken = await polling
    const elapsed = Date.now() - started
    expect(woken.data.map((e) => [e.type, e.data.id])).toEqual([['user.created', id]])
    expect(elapsed).toBeLessThan(3_000)

    const idleStart = Date.now()
    const idle = await o.feed.page({ wait: 2 })
    const idleMs = Date.now() - idleStart
    expect(idle.data).toEqual([])
    expect(idleMs).toBeGreaterThanOrEqual(1_900)
    expect(idleMs).toBeLessThan(5_000)
    // The idle answer's cursor still follows on: the next event is there.
    const [next] = await o.createUsers('after-idle', 1)
    expect((await o.feed.take(1)).map((e) => e.data.id)).toEqual([next])
  })

  it('a cursor older than the retention is a 410 cursor_expired with a resyncCursor that follows on from now', async () => {
    const o = await freshOrg()
    await o.createUsers('old', 2)
    await o.feed.take(2)
    const stale = o.feed.cursor ?? ''
    skewMs = 31 * DAY
    try {
      const r = await api<ApiErrorBody>(`/orgs/${o.orgId}/events?after=${stale}`)
      expect(r.status).toBe(410)
      expect(r.json).toMatchObject({ error: 'cursor_expired', message: expect.stringContaining('directory API') })
      expect(typeof r.json.resyncCursor).toBe('string')
      // From the resync cursor: nothing that happened before, then what happens next.
      o.feed.cursor = r.json.resyncCursor
      expect((await o.feed.page()).data).toEqual([])
      const [fresh] = await o.createUsers('new', 1)
      expect((await o.feed.take(1)).map((e) => e.data.id)).toEqual([fresh])
      // A cursor issued just now is within the retention however old its position.
      expect((await api(`/orgs/${o.orgId}/events?after=${o.feed.cursor ?? ''}`)).status).toBe(200)
    } finally {
      skewMs = 0
    }
    // 30 days and a bit less is still fine.
    skewMs = 29 * DAY
    try {
      expect((await api(`/orgs/${o.orgId}/events?after=${stale}`)).status).toBe(200)
    } finally {
      skewMs = 0
    }
  })

  it('a consumer behind the feed gets the 410 once retention may have deleted its next events, however recent its cursor', async () => {
    // The cursor carried the time of the answer: a consumer 10 days behind held, after 25 more
    // days, a cursor 25 days old whose next events (35 days old) retention had deleted, and it
    // read on past them without the 410.
    const o = await freshOrg()
    await o.createUsers('behind', 4)
    skewMs = 10 * DAY
    try {
      expect((await o.feed.page({ limit: 2 })).data).toHaveLength(2)
      const behind = o.feed.cursor ?? ''
      skewMs = 31 * DAY
      await t.store.pruneEvents(new Date(Date.now() + skewMs - 30 * DAY).toISOString(), 10_000)
      const r = await api<ApiErrorBody>(`/orgs/${o.orgId}/events?after=${behind}`)
      expect(r.status).toBe(410)
      expect(r.json.error).toBe('cursor_expired')
    } finally {
      skewMs = 0
    }
  })
})
