// The provisioning log end to end: every SCIM request of an organization gets a row (writes in
// their own transaction, the rest through the batched appender), redacted, filterable and
// paged through GET /api/v1/orgs/{org}/provisioning-log with a vendor API key; retention prunes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, revokeApiKey } from '../../src/provisioning/api-keys.ts'
import { pruneLog } from '../../src/provisioning/log-retention.ts'
import { refreshToken } from '../../src/provisioning/orgs.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const ENTRA_UA = 'Microsoft.Azure.ActiveDirectory/1.0'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const CANARY = 'canary-Pa55word-7f3e'

interface Item {
  id: string
  time: string
  identityProvider: string
  method: string
  path: string
  resourceType: string | null
  resourceId: string | null
  status: number
  scimType: string | null
  detail: string | null
  durationMs: number
  requestId: string
  changes: { before?: Record<string, unknown>; after?: Record<string, unknown>; redacted?: string[]; members?: Record<string, unknown> } | null
  notes: string[]
}

interface Page { items: Item[]; nextCursor: string | null }

describe.each(storeMatrix())('provisioning log on $name', (factory) => {
  let t: TestApp
  let key = ''

  beforeAll(async () => {
    t = await startApp(factory)
    key = (await createApiKey(t.deps, { name: 'tests', orgId: null, scopes: ['*'], expiresAt: null })).key
  })
  afterAll(async () => t.close())

  const api = async (query: string, opts: { key?: string | null; org?: string } = {}) => {
    await t.app.provisioningLog.flush()
    const k = opts.key === undefined ? key : opts.key
    const r = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${opts.org ?? t.orgId}/provisioning-log${query}`, headers: k ? { authorization: `Bearer ${k}` } : {} })
    return { status: r.statusCode, headers: r.headers, json: JSON.parse(r.body) as Page & { error?: string; message?: string }, text: r.body }
  }
  const log = async (query: string) => {
    const r = await api(query)
    expect(r.status).toBe(200)
    return r.json
  }

  it('records create, get, patch and delete of a user with before/after, newest first, and the identity provider', async () => {
    const headers = { 'user-agent': ENTRA_UA }
    const c = await t.req('POST', '/Users', user('log.one@example.com'), { headers })
    expect(c.status).toBe(201)
    const id = String(c.json.id)
    expect((await t.req('GET', `/Users/${id}`, undefined, { headers })).status).toBe(200)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'name.familyName', value: 'Byron' }, { op: 'add', path: 'title', value: 'Countess' }), { headers })).status).toBe(200)
    expect((await t.req('DELETE', `/Users/${id}`, undefined, { headers })).status).toBe(204)

    const { items } = await log(`?user=${id}`)
    expect(items.map((i) => [i.method, i.status])).toEqual([['DELETE', 204], ['PATCH', 200], ['GET', 200], ['POST', 201]])
    for (const i of items) {
      expect(i).toMatchObject({ identityProvider: 'entra', resourceType: 'User', resourceId: id, scimType: null, detail: null })
      expect(i.durationMs).toBeGreaterThanOrEqual(0)
      expect(Date.parse(i.time)).not.toBeNaN()
    }
    const [del, patch, get, post] = items as [Item, Item, Item, Item]
    expect(post.path).toBe('/scim/v2/Users')
    expect(post.changes?.before).toBeUndefined()
    expect(post.changes?.after).toMatchObject({ userName: 'log.one@example.com', active: true })
    expect(get.changes).toBeNull()
    expect(patch.changes).toEqual({
      before: { name: { givenName: 'Ada', familyName: 'Lovelace' } },
      after: { name: { givenName: 'Ada', familyName: 'Byron' }, title: 'Countess' },
    })
    expect(del.changes?.before).toMatchObject({ userName: 'log.one@example.com', title: 'Countess' })
    expect(del.changes?.after).toBeUndefined()
  })

  it('records failures with status, scimType and detail: 409, 400 invalidFilter, 404; a list has no resource id', async () => {
    const a = await t.req('POST', '/Users', user('log.dup@example.com'), { headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } })
    const b = await t.req('POST', '/Users', user('LOG.DUP@example.com'), { headers: { 'user-agent': 'Okta SCIM Client 1.0.0' } })
    expect(b.status).toBe(409)
    const f = await t.req('GET', `/Users?filter=${encodeURIComponent('userName eq')}`)
    expect(f.status).toBe(400)
    const missing = '0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee'
    expect((await t.req('GET', `/Users/${missing}`)).status).toBe(404)
    expect((await t.req('GET', '/Users?count=1')).status).toBe(200)

    const { items } = await log('?limit=5')
    const [list, notFound, badFilter, conflict, created] = items as [Item, Item, Item, Item, Item]
    expect(list).toMatchObject({ method: 'GET', path: '/scim/v2/Users?count=1', status: 200, resourceType: 'User', resourceId: null })
    expect(notFound).toMatchObject({ status: 404, resourceType: 'User', resourceId: missing, scimType: null })
    expect(notFound.detail).toContain(missing)
    expect(badFilter).toMatchObject({ status: 400, scimType: 'invalidFilter' })
    expect(conflict).toMatchObject({ method: 'POST', status: 409, scimType: 'uniqueness', identityProvider: 'okta', resourceId: null, changes: null })
    expect(conflict.detail).toContain(String(a.json.id))
    expect(created).toMatchObject({ status: 201, resourceId: String(a.json.id) })

    // The failed create left nothing behind: one user holds the name, and it has one 201 row.
    const holders = await t.req('GET', `/Users?filter=${encodeURIComponent('userName eq "log.dup@example.com"')}`)
    expect(holders.json.totalResults).toBe(1)
    expect((await log(`?user=${String(a.json.id)}`)).items.map((i) => i.status)).toEqual([201])

    expect((await log('?status=409')).items.every((i) => i.status === 409)).toBe(true)
    const fours = (await log('?status=4xx&limit=1000')).items
    expect(fours.length).toBeGreaterThanOrEqual(3)
    expect(fours.every((i) => i.status >= 400 && i.status < 500)).toBe(true)
    const twos = (await log('?status=2xx&limit=1000')).items
    expect(twos.length).toBeGreaterThan(0)
    expect(twos.every((i) => i.status >= 200 && i.status < 300)).toBe(true)
  })

  it('a failed group write (an unknown member) changes nothing and still gets its log row', async () => {
    const u = await t.req('POST', '/Users', user('log.member@example.com'))
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Log Failing' })
    const gid = String(g.json.id)
    const r = await t.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: String(u.json.id) }, { value: 'no-such-member' }] }, { op: 'replace', path: 'displayName', value: 'Renamed' }))
    expect(r.status).toBe(400)
    const after = await t.req('GET', `/Groups/${gid}`)
    expect(after.json.displayName).toBe('Log Failing')
    expect(after.json.members ?? []).toEqual([])
    expect(after.json.meta).toMatchObject({ version: 'W/"1"' })
    const { items } = await log(`?user=${gid}`)
    expect(items.map((i) => [i.method, i.status, i.scimType])).toEqual([['GET', 200, null], ['PATCH', 400, 'invalidValue'], ['POST', 201, null]])
    expect(items[1]?.changes).toBeNull()
  })

  it('records a membership change as counts and a bounded list of ids, never the whole group', async () => {
    const ids: string[] = []
    for (let i = 0; i < 30; i++) ids.push(String((await t.req('POST', '/Users', user(`log.m${i}@example.com`))).json.id))
    const g = await t.req('POST', '/Groups', { schemas: [GROUP], displayName: 'Log Members', members: ids.map((value) => ({ value })) })
    expect(g.status).toBe(201)
    const gid = String(g.json.id)
    expect((await t.req('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${ids[0] ?? ''}"]` }, { op: 'remove', path: `members[value eq "${ids[1] ?? ''}"]` }))).status).toBe(204)
    const { items } = await log(`?user=${gid}`)
    const [patch, create] = items as [Item, Item]
    expect(patch).toMatchObject({ method: 'PATCH', status: 204 })
    expect(patch.changes?.members).toEqual({ added: 0, removed: 2, replaced: false, addIds: [], removeIds: [ids[0], ids[1]] })
    expect(create.changes?.after).toEqual({ displayName: 'Log Members' })
    expect(create.changes?.members).toMatchObject({ added: 30, removed: 0, replaced: true })
    expect(create.changes?.members?.addIds).toEqual(ids.slice(0, 20))
  })

  it('never stores a password: not from a create, a PUT, a PATCH with or without path, nor a filter', async () => {
    const c = await t.req('POST', '/Users', user('log.secret@example.com', { password: `${CANARY}-1` }))
    expect(c.status).toBe(201)
    const id = String(c.json.id)
    expect((await t.req('PUT', `/Users/${id}`, user('log.secret@example.com', { password: `${CANARY}-2`, displayName: 'S' }))).status).toBe(200)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: `${CANARY}-3` }))).status).toBe(200)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { password: `${CANARY}-4`, nickName: 'N' } }))).status).toBe(200)
    expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: 42 }))).status).toBe(400)
    expect((await t.req('GET', `/Users?filter=${encodeURIComponent(`password eq "${CANARY}-5"`)}`)).status).toBe(400)

    const all = await api('?limit=1000')
    expect(all.status).toBe(200)
    expect(all.text).not.toContain('canary')
    // The rows as stored, every column.
    const raw = await t.store.listLog(t.orgId, { before: null, sinceId: null, status: null, statusClass: null, resourceId: null, limit: 10_000 })
    expect(JSON.stringify(raw)).not.toContain('canary')
    const mine = all.json.items.filter((i) => i.resourceId === id).reverse()
    expect(mine.map((i) => [i.method, i.status, i.changes?.redacted ?? []])).toEqual([
      ['POST', 201, ['password']], ['PUT', 200, ['password']], ['PATCH', 200, ['password']], ['PATCH', 200, ['password']], ['PATCH', 400, []],
    ])
    expect(mine[3]?.changes?.after).toEqual({ nickName: 'N' })
    expect(all.json.items.find((i) => i.path.includes('filter='))?.path).toBe('/scim/v2/Users?filter=[redacted]')
  })

  it('records the notes a request carries (lenient readings), and none when there are none', async () => {
    // A note as compat/ pushes one while reading a request (a hook added after start: inject, the app does not listen).
    const n = await startApp(factory, {}, { transport: 'inject' })
    try {
      n.app.addHook('preHandler', async (request) => {
        if (request.headers['x-test-note']) request.scimTrace.notes.push(String(request.headers['x-test-note']))
      })
      const nk = (await createApiKey(n.deps, { name: 'notes', orgId: null, scopes: ['*'], expiresAt: null })).key
      const c = await n.req('POST', '/Users', user('log.note@example.com'), { headers: { 'x-test-note': 'op "Replace" read as "replace"' } })
      expect(c.status).toBe(201)
      await n.req('GET', `/Users/${String(c.json.id)}`, undefined, { headers: { 'x-test-note': 'a read note' } })
      await n.req('GET', `/Users/${String(c.json.id)}`)
      await n.app.provisioningLog.flush()
      const r = await n.app.inject({ method: 'GET', url: `/api/v1/orgs/${n.orgId}/provisioning-log`, headers: { authorization: `Bearer ${nk}` } })
      const items = (JSON.parse(r.body) as Page).items
      expect(items.map((i) => i.notes)).toEqual([[], ['a read note'], ['op "Replace" read as "replace"']])
    } finally {
      await n.close()
    }
  })

  it('records what compat/ read leniently in an Entra ID request, and Entra ID from its shape alone', async () => {
    const c = await t.req('POST', '/Users', user('log.entra@example.com'))
    expect(c.status).toBe(201)
    const id = String(c.json.id)
    // Entra ID's documented shapes: a capitalised op and "False" for a boolean, with no
    // User-Agent to say who sent them ("Known issues and resolutions with SCIM 2.0 protocol compliance").
    const body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }
    const r = await t.req('PATCH', `/Users/${id}`, body, { headers: { 'user-agent': '' } })
    expect(r.status).toBe(200)
    expect(r.json.active).toBe(false)
    const row = (await log(`?user=${id}`)).items.find((i) => i.method === 'PATCH')
    expect(row?.identityProvider).toBe('entra')
    expect(row?.notes.some((n) => /Replace/.test(n))).toBe(true)
    expect(row?.notes.some((n) => /False/.test(n))).toBe(true)
    expect(row?.changes?.after).toEqual({ active: false })
  })

  it('logs a revoked token\'s 401 under its organization; an unknown token is logged nowhere', async () => {
    const other = await t.newOrg(`log-revoked-${factory.name}`)
    const fresh = await refreshToken(t.deps, other.orgId)
    expect((await t.req('GET', '/Users', undefined, { token: other.token })).status).toBe(401)
    expect((await t.req('GET', '/Users', undefined, { token: `roster_scim_${'A'.repeat(43)}` })).status).toBe(401)
    expect((await t.req('GET', '/Users?count=1', undefined, { token: fresh.token })).status).toBe(200)
    const { items } = (await api('', { org: other.orgId })).json
    expect(items.map((i) => [i.method, i.path, i.status])).toEqual([['GET', '/scim/v2/Users?count=1', 200], ['GET', '/scim/v2/Users', 401]])
  })

  it('pages newest first with a cursor: no duplicates and no gaps while requests keep arriving', async () => {
    const p = await startApp(factory)
    try {
      const pk = (await createApiKey(p.deps, { name: 'paging', orgId: null, scopes: ['*'], expiresAt: null })).key
      const page = async (cursor: string | null, limit: number): Promise<Page> => {
        const r = await p.app.inject({ method: 'GET', url: `/api/v1/orgs/${p.orgId}/provisioning-log?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: `Bearer ${pk}` } })
        expect(r.statusCode).toBe(200)
        return JSON.parse(r.body) as Page
      }
      const walk = async (limit: number, during?: () => Promise<unknown>) => {
        const seen: string[] = []
        let cursor: string | null = null
        do {
          const pg: Page = await page(cursor, limit)
          seen.push(...pg.items.map((i) => i.id))
          cursor = pg.nextCursor
          if (during) await during()
        } while (cursor)
        return seen
      }
      for (let i = 0; i < 40; i++) await p.req('POST', '/Users', user(`page${i}@example.com`))
      for (let i = 0; i < 20; i++) await p.req('GET', '/Users?count=1')
      await p.app.provisioningLog.flush()
      const before = await walk(1000)
      expect(before).toHaveLength(60)

      // Writers and readers run while a reader pages 7 at a time.
      let n = 0
      const load = () => Promise.all([
        p.req('POST', '/Users', user(`page.more${n++}@example.com`)),
        p.req('POST', '/Users', user(`page.more${n++}@example.com`)),
        p.req('GET', '/Users?count=1'),
        p.app.provisioningLog.flush(),
      ])
      const during = await walk(7, load)
      expect(new Set(during).size).toBe(during.length)
      expect([...during].sort().reverse()).toEqual(during)
      for (const id of before) expect(during).toContain(id)

      await p.app.provisioningLog.flush()
      const all = await walk(1000)
      const again = await walk(13)
      expect(again).toEqual(all)
      expect(all.length).toBe(60 + n + n / 2)
    } finally {
      await p.close()
    }
  })

  it('filters by since (time or duration) and user, and limits; bad filters are 400, an unknown org 404', async () => {
    expect((await log('?since=1h&limit=1000')).items.length).toBeGreaterThan(10)
    expect((await log(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).items).toEqual([])
    const one = await log('?limit=1')
    expect(one.items).toHaveLength(1)
    expect(one.nextCursor).toBe(one.items[0]?.id)
    const next = await log(`?limit=1&cursor=${one.nextCursor ?? ''}`)
    expect((next.items[0]?.id ?? '') < (one.items[0]?.id ?? '')).toBe(true)
    expect((await log('?user=no-such-resource')).items).toEqual([])

    for (const q of ['?cursor=abc', '?since=yesterday', '?since=2026-13-45T99:00:00Z', '?status=4x9', '?status=600', '?limit=0', '?limit=1001', '?limit=ten', '?status=200&status=201']) {
      const r = await api(q)
      expect(r.status, q).toBe(400)
      expect(r.json.error, q).toBe('invalid_parameter')
      expect(typeof r.json.message).toBe('string')
    }
    const unknown = await api('', { org: 'no-such-org' })
    expect(unknown.status).toBe(404)
    expect(unknown.json.error).toBe('not_found')
    const byName = await api('?limit=1', { org: encodeURIComponent((await t.store.getOrg(t.orgId))?.name ?? '') })
    expect(byName.status).toBe(200)
  })

  it('the API needs a live API key: none, a wrong one, a SCIM token and a revoked key are 401', async () => {
    for (const k of [null, 'roster_api_' + 'x'.repeat(43), 'not-a-key', t.token]) {
      const r = await api('', { key: k })
      expect(r.status).toBe(401)
      expect(r.json.error).toBe('unauthorized')
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(r.text).not.toContain('"items"')
    }
    const k = await createApiKey(t.deps, { name: 'short-lived', orgId: null, scopes: ['*'], expiresAt: null })
    expect((await api('', { key: k.key })).status).toBe(200)
    await revokeApiKey(t.deps, k.id)
    expect((await api('', { key: k.key })).status).toBe(401)
    // Unknown API routes are JSON 404s, behind the key.
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/nothing', headers: { authorization: `Bearer ${key}` } })
    expect(r.statusCode).toBe(404)
    expect(JSON.parse(r.body)).toMatchObject({ error: 'not_found' })
  })
})

describe.each(storeMatrix())('provisioning-log retention on $name', (factory) => {
  it('the server prunes rows older than the retention, by the injected clock, in batches', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z')
    let now = start
    const t = await startApp(factory, {}, { now: () => new Date(now), logRetentionDays: 30, pruneIntervalMs: 50 })
    try {
      const rows = () => t.store.listLog(t.orgId, { before: null, sinceId: null, status: null, statusClass: null, resourceId: null, limit: 1000 })
      for (let i = 0; i < 5; i++) await t.req('POST', '/Users', user(`old${i}@example.com`))
      await t.req('GET', '/Users?count=1')
      now = start + 10 * 86_400_000
      const kept = String((await t.req('POST', '/Users', user('newer@example.com'))).json.id)
      await t.app.provisioningLog.flush()
      expect(await rows()).toHaveLength(7)
      expect((await rows()).map((r) => r.at.slice(0, 10))).toContain('2026-01-01')

      // 31 days on, the server's own pruning removes the first six rows and keeps the newer one.
      now = start + 31 * 86_400_000
      for (let i = 0; i < 100 && (await rows()).length > 1; i++) await new Promise((r) => setTimeout(r, 50))
      expect((await rows()).map((r) => r.resourceId)).toEqual([kept])

      // Batches: 6 more old rows, pruned 4 at a time.
      now = start + 40 * 86_400_000
      for (let i = 0; i < 6; i++) await t.req('GET', '/Users?count=1')
      await t.app.provisioningLog.flush()
      expect(await pruneLog(t.store, { retentionDays: 1, now: () => new Date(start + 50 * 86_400_000), batch: 4 })).toBe(7)
      expect(await rows()).toEqual([])
    } finally {
      await t.close()
    }
  })
})
