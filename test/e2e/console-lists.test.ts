// The console's lists through /api/v1 on SQLite and PostgreSQL (docs/console.md): the
// provisioning log's identity-provider filter in SQL (paging stays exact), the users' state
// filter (pending, active, suspended), a viewer reading webhooks but refused every change, and
// the operator's organizations paged in name order in SQL. Each filter's query is answered from
// its index in the order shown (EXPLAIN of the statements as the store compiles them), so a
// page costs the same on a large organization.
import BetterSqlite3 from 'better-sqlite3'
import {
  DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
} from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { uuidV7Floor } from '../../src/ids.ts'
import { userResource } from '../../src/scim/schema/registry.ts'
import { postgresSql } from '../../src/store/dialect/postgres-sql.ts'
import { logFilePath, logKey } from '../../src/store/dialect/sqlite-log-file.mjs'
import { sqliteSql } from '../../src/store/dialect/sqlite-sql.ts'
import { directoryPageQuery } from '../../src/store/kysely/directory-reads.ts'
import { logPageQuery } from '../../src/store/kysely/log-sql.ts'
import { orgPageQuery } from '../../src/store/kysely/operator-orgs.ts'
import type { Database } from '../../src/store/kysely/schema.ts'
import type { LogQuery } from '../../src/store/store.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { call, consoleAccount, signIn, type Session } from '../helpers/console.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

const OKTA = { 'user-agent': 'Okta SCIM Client 1.0.0' }
const ENTRA = { 'user-agent': 'Microsoft Azure AD SCIM provisioning 1.0.0' }

type Json = Record<string, unknown>

/** Every item of a list walked a page at a time through `nextCursor` (or `cursor` for the log). */
async function walk(t: TestApp, session: Session, url: string, itemsKey: 'items' | 'data'): Promise<{ items: Json[]; pages: number }> {
  const items: Json[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r = await call(t, 'GET', `${url}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { session })
    expect(r.status, JSON.stringify(r.json)).toBe(200)
    items.push(...(r.json[itemsKey] as Json[]))
    cursor = r.json.nextCursor as string | null
    pages++
  } while (cursor !== null && pages < 100)
  return { items, pages }
}

describe.each(storeMatrix())('console lists on $name', (base) => {
  const { factory, url: dbUrl } = remembering(base)
  let t: TestApp
  let rx: Receiver
  let admin: Session
  let viewer: Session
  let operator: Session
  let orgPath = ''

  /** The plan of a statement as the store compiles it, on the main database or SQLite's log file. */
  async function plan(c: { sql: string; parameters: readonly unknown[] }, file: 'main' | 'log' = 'main'): Promise<string> {
    const url = dbUrl()
    if (factory.name === 'sqlite') {
      const path = url.replace(/^sqlite:/, '')
      const db = new BetterSqlite3(file === 'log' ? logFilePath(path) : path, { readonly: true })
      try {
        return (db.prepare(`explain query plan ${c.sql}`).all(...c.parameters) as { detail: string }[]).map((r) => r.detail).join('; ')
      } finally {
        db.close()
      }
    }
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      // The tables are small here: without this PostgreSQL would rightly read them whole.
      await client.query('set enable_seqscan = off')
      const r = await client.query<{ 'QUERY PLAN': string }>(`explain ${c.sql}`, [...c.parameters])
      return r.rows.map((x) => x['QUERY PLAN']).join('; ')
    } finally {
      await client.end()
    }
  }

  /** A query builder of the store's dialect that only compiles. */
  function builder(): Kysely<Database> {
    const lite = factory.name === 'sqlite'
    return new Kysely<Database>({
      dialect: {
        createAdapter: () => (lite ? new SqliteAdapter() : new PostgresAdapter()),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => (lite ? new SqliteIntrospector(db) : new PostgresIntrospector(db)),
        createQueryCompiler: () => (lite ? new SqliteQueryCompiler() : new PostgresQueryCompiler()),
      },
    })
  }

  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    rx = await startReceiver()
    orgPath = `/api/v1/orgs/${t.orgId}`
    await consoleAccount(t, 'admin@acme.test', 'admin')
    await consoleAccount(t, 'viewer@acme.test', 'viewer')
    await consoleAccount(t, 'op@roster.test', 'operator')
    admin = await signIn(t, 'admin@acme.test')
    viewer = await signIn(t, 'viewer@acme.test')
    operator = await signIn(t, 'op@roster.test')
  })
  afterAll(async () => {
    await t.close()
    await rx.stop()
  })

  it('the log filters by identity provider on the server: every page is full and the walk finds each entry once', async () => {
    // Interleaved, so that a filter applied to a page after it was read would leave pages short.
    const expected: string[] = []
    for (let i = 0; i < 5; i++) {
      await t.req('GET', `/Users?filter=${encodeURIComponent(`userName eq "okta${i}@example.com"`)}`, undefined, { headers: OKTA })
      await t.req('GET', '/Users?count=1', undefined, { headers: OKTA })
      // A successful write (its row commits with the change: SQLite's main file) and a read (the log file).
      const r = await t.req('POST', '/Users', user(`entra${i}@example.com`), { headers: ENTRA })
      expect(r.status).toBe(201)
      await t.req('GET', `/Users/${String(r.json.id)}`, undefined, { headers: ENTRA })
      expected.push(String(r.json.id))
    }
    await t.app.provisioningLog.flush()
    const { items, pages } = await walk(t, viewer, `${orgPath}/provisioning-log?identityProvider=entra&limit=3`, 'items')
    expect(items.map((e) => e.identityProvider)).toEqual(Array(10).fill('entra'))
    expect(new Set(items.map((e) => e.id)).size).toBe(10)
    expect(pages).toBe(4)
    const ids = items.map((e) => String(e.id))
    expect(ids).toEqual([...ids].sort().reverse())
    expect(items.filter((e) => e.method === 'POST').map((e) => e.resourceId).reverse()).toEqual(expected)

    // With the other filters: outcome, user and time.
    const writes = await call(t, 'GET', `${orgPath}/provisioning-log?identityProvider=entra&status=201&since=1h`, { session: viewer })
    expect((writes.json.items as Json[]).map((e) => e.resourceId).reverse()).toEqual(expected)
    const one = await call(t, 'GET', `${orgPath}/provisioning-log?identityProvider=entra&user=${expected[2]}`, { session: viewer })
    expect((one.json.items as Json[]).map((e) => e.method)).toEqual(['GET', 'POST'])
    const none = await call(t, 'GET', `${orgPath}/provisioning-log?identityProvider=okta&user=${expected[2]}`, { session: viewer })
    expect(none.json.items).toEqual([])
    expect((await walk(t, viewer, `${orgPath}/provisioning-log?identityProvider=okta&limit=4`, 'items')).items).toHaveLength(10)

    const bad = await call(t, 'GET', `${orgPath}/provisioning-log?identityProvider=azure`, { session: viewer })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: 'invalid_parameter' })
    expect(String(bad.json.message)).toContain('identityProvider')
  })

  it('the identity-provider filter walks its index, newest first, in every file of the log', async () => {
    const q: LogQuery = { before: null, sinceId: null, status: null, statusClass: null, resourceId: null, identityProvider: 'entra', limit: 101 }
    const compiled = [logPageQuery(builder(), t.orgId, q).compile(), logPageQuery(builder(), t.orgId, { ...q, before: uuidV7Floor(Date.now()) }).compile()]
    const plans = await Promise.all(compiled.map((c) => plan(c)))
    // SQLite's log file keeps ids as 16-byte keys.
    if (factory.name === 'sqlite') plans.push(await plan(logPageQuery(builder(), t.orgId, q, logKey).compile(), 'log'))
    for (const p of plans) {
      expect(p).toContain('provisioning_log_idp')
      expect(p).not.toMatch(/TEMP B-TREE|Sort/)
    }
  })

  it('the users list filters by state on the server: pending, active, suspended, with exact paging', async () => {
    // Users created over SCIM start pending (invitations are on by default: docs/policies.md).
    const pending: string[] = []
    for (let i = 0; i < 5; i++) pending.push(String((await t.req('POST', '/Users', user(`pending${i}@example.com`))).json.id))
    expect((await call(t, 'PATCH', `${orgPath}/settings`, { session: admin, body: { sendInvitations: false } })).status).toBe(200)
    const active: string[] = []
    for (let i = 0; i < 4; i++) active.push(String((await t.req('POST', '/Users', user(`active${i}@example.com`))).json.id))
    // Suspended: deactivated by the identity provider, one of them while pending.
    const suspended = [pending[1], active[2]] as string[]
    for (const id of suspended) expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(200)
    const all = (await walk(t, viewer, `${orgPath}/users?limit=1000`, 'data')).items
    const inState = (s: string) => all.filter((u) => u.state === s).map((u) => String(u.id)).sort()

    for (const state of ['pending', 'active', 'suspended'] as const) {
      const { items } = await walk(t, viewer, `${orgPath}/users?state=${state}&limit=2`, 'data')
      expect(items.every((u) => u.state === state), state).toBe(true)
      expect(items.map((u) => String(u.id)), state).toEqual(inState(state))
    }
    expect(inState('suspended')).toEqual([...suspended].sort())
    expect(inState('pending')).toEqual(expect.arrayContaining(pending.filter((id) => !suspended.includes(id))))
    expect(inState('active')).toEqual(active.filter((id) => !suspended.includes(id)).sort())

    // With a SCIM filter (the console's search) as well.
    const search = await call(t, 'GET', `${orgPath}/users?state=pending&filter=${encodeURIComponent('userName sw "pending3"')}`, { session: viewer })
    expect((search.json.data as Json[]).map((u) => u.id)).toEqual([pending[3]])
    const bad = await call(t, 'GET', `${orgPath}/users?state=invited`, { session: viewer })
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ error: 'invalid_parameter' })
    expect(String(bad.json.message)).toContain('state')
    expect((await call(t, 'PATCH', `${orgPath}/settings`, { session: admin, body: { sendInvitations: true } })).status).toBe(200)
  })

  it('the state filter walks the users_state index in id order', async () => {
    const dialect = factory.name === 'sqlite' ? sqliteSql : postgresSql
    for (const state of ['pending', 'active', 'suspended'] as const) {
      for (const after of [null, '01a00000-0000-7000-8000-000000000000']) {
        const p = await plan(directoryPageQuery(builder(), dialect, 'users', userResource, t.orgId, { filter: null, after, limit: 26, updatedSince: null, state }).compile())
        expect(p, state).toContain('users_state')
        expect(p, state).not.toMatch(/TEMP B-TREE|Sort/)
      }
    }
  })

  it('a viewer reads the webhook endpoints and their deliveries, never a secret, and is refused every change', async () => {
    rx.answer = () => ({ status: 500 })
    const added = await call(t, 'POST', `${orgPath}/webhooks`, { session: admin, body: { url: `${rx.url}?code=function-key-123&v=2`, eventTypes: ['user.created'] } })
    expect(added.status).toBe(201)
    const id = String(added.json.id)
    const secret = String(added.json.secret)
    rx.secrets = [secret]
    await t.req('POST', '/Users', user('hooked@example.com'))
    await eventually(() => rx.requests.length > 0, 15_000, 'a delivery attempt')

    const list = await call(t, 'GET', `${orgPath}/webhooks`, { session: viewer })
    expect(list.status).toBe(200)
    const [ep] = list.json.data as Json[]
    expect(ep).toMatchObject({ id, enabled: true, eventTypes: ['user.created'] })
    expect(ep?.url).toBe(`${rx.url}?code=redacted&v=redacted`)
    const one = await call(t, 'GET', `${orgPath}/webhooks/${id}`, { session: viewer })
    expect(one.json.url).toBe(`${rx.url}?code=redacted&v=redacted`)
    // The admin sees the URL as given.
    expect((await call(t, 'GET', `${orgPath}/webhooks/${id}`, { session: admin })).json.url).toBe(`${rx.url}?code=function-key-123&v=2`)
    await eventually(async () => ((await call(t, 'GET', `${orgPath}/webhooks/${id}/attempts`, { session: viewer })).json.data as Json[]).length > 0, 15_000, 'a recorded attempt')
    const attempts = await call(t, 'GET', `${orgPath}/webhooks/${id}/attempts?limit=10`, { session: viewer })
    expect(attempts.status).toBe(200)
    expect((attempts.json.data as Json[])[0]).toMatchObject({ eventType: 'user.created', status: 500 })
    for (const r of [list, one, attempts]) {
      expect(JSON.stringify(r.json)).not.toContain(secret)
      expect(JSON.stringify(r.json)).not.toContain('function-key-123')
    }

    const eventId = String((attempts.json.data as Json[])[0]?.eventId)
    const changes: [string, string, unknown][] = [
      ['POST', `${orgPath}/webhooks`, { url: rx.url }],
      ['PATCH', `${orgPath}/webhooks/${id}`, { enabled: false }],
      ['DELETE', `${orgPath}/webhooks/${id}`, undefined],
      ['POST', `${orgPath}/webhooks/${id}/rotate-secret`, {}],
      ['POST', `${orgPath}/webhooks/${id}/test`, {}],
      ['POST', `${orgPath}/webhooks/${id}/redeliver`, { eventId }],
      ['POST', `${orgPath}/webhooks/${id}/replay`, {}],
    ]
    for (const [method, url, body] of changes) {
      const r = await call(t, method as 'POST', url, { session: viewer, body })
      expect([method, url, r.status, r.json.error]).toEqual([method, url, 403, 'insufficient_role'])
    }
    const after = await call(t, 'GET', `${orgPath}/webhooks`, { session: admin })
    expect(after.json.data).toEqual([expect.objectContaining({ id, enabled: true, url: `${rx.url}?code=function-key-123&v=2` })])
    // The admin may redeliver.
    expect((await call(t, 'POST', `${orgPath}/webhooks/${id}/redeliver`, { session: admin, body: { eventId } })).status).toBe(202)

    // An API key with webhooks:read reads as a viewer does; without a webhooks scope it is refused.
    const reader = (await createApiKey(t.deps, { name: 'reader', orgId: t.orgId, scopes: ['webhooks:read'], expiresAt: null })).key
    const byKey = await call(t, 'GET', `${orgPath}/webhooks`, { headers: { authorization: `Bearer ${reader}` } })
    expect((byKey.json.data as Json[])[0]?.url).toBe(`${rx.url}?code=redacted&v=redacted`)
    expect((await call(t, 'DELETE', `${orgPath}/webhooks/${id}`, { headers: { authorization: `Bearer ${reader}` } })).status).toBe(403)
    const other = (await createApiKey(t.deps, { name: 'dir', orgId: t.orgId, scopes: ['directory:read'], expiresAt: null })).key
    expect((await call(t, 'GET', `${orgPath}/webhooks`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(403)
    expect((await call(t, 'DELETE', `${orgPath}/webhooks/${id}`, { session: admin })).status).toBe(204)
  })

  it('the operator pages through organizations in name order, each once, with its health', async () => {
    // Names whose order by case differs from their folded order.
    const names = ['beta Labs', 'Alpha Works', 'delta Co', 'Charlie Inc', 'echo Ltd', 'Foxtrot GmbH', 'golf SA']
    for (const n of names) await t.newOrg(n)
    const { items, pages } = await walk(t, operator, '/api/v1/orgs?limit=3', 'data')
    const listed = items.map((o) => String(o.name))
    const folded = listed.map((n) => n.toLowerCase())
    expect(new Set(listed).size).toBe(listed.length)
    expect(listed).toEqual(expect.arrayContaining(names))
    expect(folded).toEqual([...folded].sort())
    expect(pages).toBe(Math.ceil(listed.length / 3))
    // The test organization: its identity provider's requests and its failures of the last day.
    expect((await t.req('POST', '/Users', user('active0@example.com'), { headers: OKTA })).status).toBe(409)
    await t.app.provisioningLog.flush()
    const again = (await walk(t, operator, '/api/v1/orgs?limit=2', 'data')).items
    const mine = again.find((o) => o.id === t.orgId)
    expect(mine).toMatchObject({ lastRequestBy: expect.stringMatching(/^(okta|entra|unknown)$/), liveTokens: 1 })
    expect(mine?.errorsLastDay).toBeGreaterThanOrEqual(1)
    const quiet = again.find((o) => o.name === 'Alpha Works')
    expect(quiet).toMatchObject({ lastRequestAt: null, errorsLastDay: 0, domains: [] })

    for (const cursor of ['!!', 'AAAA', '_w']) {
      const bad = await call(t, 'GET', `/api/v1/orgs?cursor=${cursor}`, { session: operator })
      expect([cursor, bad.status, bad.json.error]).toEqual([cursor, 400, 'invalid_parameter'])
    }
    expect((await call(t, 'GET', '/api/v1/orgs', { session: viewer })).status).toBe(403)
  })

  it('the organizations page is read from the unique index of folded names, in order', async () => {
    for (const after of [null, 'm']) {
      const p = await plan(orgPageQuery(after, 51).compile(builder()))
      expect(p).toMatch(/SCAN o USING INDEX sqlite_autoindex_orgs_2|SEARCH o USING INDEX sqlite_autoindex_orgs_2|Index Scan using orgs_name_folded_key on orgs o/)
      // The organizations are not sorted (each one's few tokens may be, in its subqueries).
      expect(p.split(/CORRELATED SCALAR SUBQUERY|SubPlan/)[0]).not.toMatch(/TEMP B-TREE|Sort/)
    }
  })
})
