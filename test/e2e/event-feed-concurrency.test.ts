// The event feed under concurrent writes: a consumer that follows an organization's feed with
// its cursor while thousands of SCIM writes commit sees every committed event exactly once, and a
// resource's versions never go down. On PostgreSQL, the gap-free proof with raw transactions:
// events whose transaction took their sequence numbers first but commits last are still seen,
// after one that took a later number and committed first (src/store/kysely/event-stamper.ts).
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { FeedReader, apiGet, type ApiGet, type FeedEvent, type FeedPage } from '../helpers/api-client.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

describe.each(storeMatrix())('event feed under concurrent writes on $name', (base) => {
  let t: TestApp
  let api: ApiGet
  // The test's own database, for the raw clients of the PostgreSQL proof.
  const { factory, url } = remembering(base)

  beforeAll(async () => {
    t = await startApp(factory)
    const key = (await createApiKey(t.deps, { name: 'feed', orgId: null, scopes: ['events:read'], expiresAt: null })).key
    api = apiGet(t, () => key)
  })
  afterAll(async () => t.close())

  it('2,310 concurrent SCIM writes over 3 organizations: each organization\'s follower sees every committed event exactly once, and per resource the versions never go down', async () => {
    const TASKS = 350
    const orgs = await Promise.all([0, 1, 2].map(async (k) => {
      const o = await t.newOrg(`conc-${k}-${randomUUID()}`)
      const req = (method: 'POST' | 'PATCH', path: string, body: unknown) => t.req(method, path, body, { token: o.token })
      const groups: string[] = []
      for (const name of ['Even', 'Odd']) {
        const g = await req('POST', '/Groups', { schemas: [GROUP], displayName: name })
        expect(g.status).toBe(201)
        groups.push(String(g.json.id))
      }
      return { ...o, req, groups }
    }))

    // Followers: each long-polls its organization's feed from its cursor until told to stop and drained.
    let writing = true
    const follow = async (orgId: OrgId) => {
      const feed = new FeedReader(api, orgId)
      const seen: FeedEvent[] = []
      for (;;) {
        // Also after the writes: a position comes a moment after its commit on PostgreSQL (the stamper), so the last pages wait for it.
        const p = await feed.page({ limit: 37, wait: 1 })
        seen.push(...p.data)
        if (!writing && p.data.length === 0) return { seen, feed }
      }
    }
    const followers = orgs.map((o) => follow(o.orgId))

    // Writers: in each organization, 350 tasks each create a user (1 write) and add it to a group (1 write);
    // every fifth task removes it again (1 more). 770 writes per organization, all at once.
    const expected = new Map<OrgId, string[]>()
    const writers = orgs.map(async (o) => {
      const keys: string[] = o.groups.map((g) => `group.created ${g}`)
      await Promise.all(Array.from({ length: TASKS }, async (_, i) => {
        const c = await o.req('POST', '/Users', user(`c${i}@example.com`))
        expect(c.status).toBe(201)
        const uid = String(c.json.id)
        const gid = o.groups[i % 2] as string
        keys.push(`user.created ${uid}`)
        const add = await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: uid }] }))
        expect(add.status).toBe(204)
        keys.push(`group.member_added ${gid} ${uid}`)
        if (i % 5 === 0) {
          const rm = await o.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${uid}"]` }))
          expect(rm.status).toBe(204)
          keys.push(`group.member_removed ${gid} ${uid}`)
        }
      }))
      expected.set(o.orgId, keys)
    })
    await Promise.all(writers)
    // Let the followers catch up with the last commits (on PostgreSQL, the last stamping pass), then stop.
    const expectedCount = 2 + TASKS * 2 + Math.ceil(TASKS / 5)
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline) {
      const counts = await Promise.all(orgs.map(async (o) => (await api<FeedPage>(`/orgs/${o.orgId}/events?limit=1000`)).json.data.length))
      if (counts.every((n) => n === expectedCount)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    writing = false
    const results = await Promise.all(followers)

    for (const [k, o] of orgs.entries()) {
      const { seen } = results[k] as { seen: FeedEvent[] }
      const keyOf = (e: FeedEvent) => (e.data.member ? `${e.type} ${e.data.id} ${e.data.member.id}` : `${e.type} ${e.data.id}`)
      expect(seen.map(keyOf).sort()).toEqual((expected.get(o.orgId) ?? []).sort())
      expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length)
      expect(seen.every((e) => e.data.orgId === o.orgId)).toBe(true)
      // The feed from the start, read after the writes, is exactly what the follower saw, in the same order.
      const whole = (await api<FeedPage>(`/orgs/${o.orgId}/events?limit=1000`)).json.data
      expect(whole.map((e) => e.id)).toEqual(seen.map((e) => e.id))
      // Per resource, in feed order, versions never go down; each group moved through one version per change.
      const last = new Map<string, number>()
      for (const e of seen) {
        const prev = last.get(e.data.id) ?? 0
        expect(e.data.version, `${e.type} ${e.data.id}`).toBeGreaterThanOrEqual(prev)
        last.set(e.data.id, e.data.version)
      }
      for (const g of o.groups) {
        const changes = seen.filter((e) => e.data.id === g && e.type !== 'group.created').length
        expect(last.get(g)).toBe(1 + changes)
      }
    }
  }, 60_000)

  it('PostgreSQL: events whose transaction took a lower seq but commits later are still seen after a later seq was read (no gap)', async (ctx) => {
    ctx.skip(base.name !== 'postgres', 'PostgreSQL only: on SQLite the single writer commits events in position order, so no later position can commit first')
    const o = await t.newOrg(`gap-${randomUUID()}`)
    const feed = new FeedReader(api, o.orgId)
    await feed.page()
    const at = () => new Date().toISOString()
    // Outbox rows as the store writes them (migration 0007): position NULL until stamped after commit.
    const insert = async (c: pg.Client, row: { resource: string; type: string; payload: (id: string) => string; members: [string, string][] | null }) => {
      const id = randomUUID()
      const r = await c.query<{ seq: string }>(
        `insert into events (org_id, id, count, type, resource_type, resource_id, lane, version, at, payload, members)
         values ($1, $2, $3, $4, 'User', $5, $5, 1, $6, $7, $8) returning seq`,
        [o.orgId, id, row.members?.length ?? 1, row.type, row.resource, at(), row.payload(id), row.members === null ? null : JSON.stringify(row.members)])
      return { id, seq: BigInt(r.rows[0]?.seq ?? '0') }
    }
    const single = (resource: string) => ({
      resource, type: 'user.updated', members: null,
      payload: (id: string) => JSON.stringify({ id, type: 'user.updated', timestamp: at(), data: { id: resource, version: 1, orgId: o.orgId } }),
    })
    // A membership row: three group.member_added events, its group's data stored open (without its closing brace).
    const membership = {
      resource: 'group-a', type: 'group.member_added', members: [['m1', 'user'], ['m2', 'user'], ['m3', 'group']] as [string, string][],
      payload: () => JSON.stringify({ id: 'group-a', version: 2, orgId: o.orgId }).slice(0, -1),
    }
    const a = new pg.Client({ connectionString: url() })
    const b = new pg.Client({ connectionString: url() })
    await a.connect()
    await b.connect()
    try {
      await a.query('begin')
      const evA = await insert(a, single('resource-a'))
      const rowA = await insert(a, membership)
      await b.query('begin')
      const evB = await insert(b, single('resource-b'))
      await b.query('commit')
      // A took its seqs first: a reader that stored "the last seq I saw" after B would skip A forever.
      expect(evB.seq > evA.seq && evB.seq > rowA.seq).toBe(true)

      // The stamper (every 200 ms) gives B a position; A, uncommitted, has none and is not in the feed.
      const first = await feed.take(1, { timeoutMs: 5_000 })
      expect(first.map((e) => e.id)).toEqual([evB.id])
      await new Promise((r) => setTimeout(r, 500))
      expect((await feed.page()).data).toEqual([])

      await a.query('commit')
      // From the cursor after B, the feed returns A's events: stamped after B, at larger positions.
      const second = await feed.take(4, { timeoutMs: 5_000 })
      expect(second.map((e) => e.id)).toEqual([evA.id, `${rowA.id}_0`, `${rowA.id}_1`, `${rowA.id}_2`])
      expect(second.slice(1).map((e) => [e.type, e.data.id, e.data.member])).toEqual([
        ['group.member_added', 'group-a', { id: 'm1', type: 'user' }], ['group.member_added', 'group-a', { id: 'm2', type: 'user' }], ['group.member_added', 'group-a', { id: 'm3', type: 'group' }],
      ])
      const rows = await b.query<{ id: string; position: string; count: number }>('select id, position, count from events where org_id = $1 order by position', [o.orgId])
      expect(rows.rows.map((r) => r.id)).toEqual([evB.id, evA.id, rowA.id])
      // The 3-event row holds three positions: nothing else was given one of them.
      const [pb, pa, prow] = rows.rows.map((r) => Number(r.position)) as [number, number, number]
      expect(pb < pa && pa < prow).toBe(true)
      expect((await feed.page()).data).toEqual([])
      // A consumer starting from the beginning sees all of them, once each, a page of 2 at a time (a page may end inside the row).
      const fresh = new FeedReader(api, o.orgId)
      const sizes: number[] = []
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        const p = await fresh.page({ limit: 2 })
        sizes.push(p.data.length)
        ids.push(...p.data.map((e) => e.id))
      }
      expect(sizes).toEqual([2, 2, 1, 0, 0])
      expect(ids).toEqual([evB.id, evA.id, `${rowA.id}_0`, `${rowA.id}_1`, `${rowA.id}_2`])
    } finally {
      await a.query('rollback').catch(() => undefined)
      await a.end()
      await b.end()
    }
  })
})
