// GET /metrics through the real app and store: the token guard, request series by route
// template, method, status and identity provider, no organization label unless asked, the write
// transactions, the queue depths read from the database, and the pools.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'

const TOKEN = 'metrics-token-0123456789'
const ENTRA_UA = 'Microsoft.Azure.ActiveDirectory/1.0'

/** The value of the one sample whose name and labels start with `prefix`. */
function sample(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe.each(storeMatrix())('metrics ($name)', (base) => {
  let t: TestApp | null = null
  afterEach(async () => {
    await t?.close()
    t = null
  })
  const scrape = async (token: string | null = TOKEN) => {
    const r = await (t as TestApp).app.inject({ method: 'GET', url: '/metrics', headers: token === null ? {} : { authorization: `Bearer ${token}` } })
    return { status: r.statusCode, type: r.headers['content-type'], text: r.body }
  }

  it('answers only with its token, and is absent when metrics are off', async () => {
    t = await startApp(base)
    expect((await scrape()).status).toBe(404)
    await t.close()
    t = await startApp(base, {}, { metrics: { token: TOKEN, orgLabel: false } })
    expect((await scrape(null)).status).toBe(401)
    expect((await scrape('metrics-token-0123456780')).status).toBe(401)
    const ok = await scrape()
    expect(ok.status).toBe(200)
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/)
  })

  it('counts requests by route template, method, status and identity provider; times them; counts write transactions', async () => {
    t = await startApp(base, {}, { metrics: { token: TOKEN, orgLabel: false } })
    const headers = { 'user-agent': ENTRA_UA }
    expect((await t.req('POST', '/Users', user('ada@example.com'), { headers })).status).toBe(201)
    const created = await t.req('POST', '/Users', user('bob@example.com'), { headers })
    expect((await t.req('POST', '/Users', user('bob@example.com'), { headers })).status).toBe(409)
    expect((await t.req('GET', `/Users/${String(created.json.id)}`)).status).toBe(200)
    const { text } = await scrape()
    expect(sample(text, 'roster_http_requests_total{route="/scim/v2/Users",method="POST",status="201",identity_provider="entra"}')).toBe(2)
    expect(sample(text, 'roster_http_requests_total{route="/scim/v2/Users",method="POST",status="409",identity_provider="entra"}')).toBe(1)
    // The route's template, not the URL: one series for every user id.
    expect(sample(text, 'roster_http_requests_total{route="/scim/v2/Users/:id",method="GET",status="200",identity_provider="unknown"}')).toBe(1)
    expect(sample(text, 'roster_http_request_duration_seconds_count{route="/scim/v2/Users",method="POST",status="201",identity_provider="entra"}')).toBe(2)
    expect(sample(text, 'roster_http_request_duration_seconds_bucket{route="/scim/v2/Users",method="POST",status="201",identity_provider="entra",le="+Inf"}')).toBe(2)
    expect(text).not.toContain('organization=')
    expect(text).not.toContain(String(created.json.id))
    expect(sample(text, 'roster_db_write_batch_size_count')).toBeGreaterThanOrEqual(2)
    expect(sample(text, 'roster_db_write_transaction_seconds_count')).toBeGreaterThanOrEqual(2)
    const pool = base.name === 'sqlite' ? 'sqlite_writer' : 'postgres'
    expect(sample(text, `roster_db_pool_connections{pool="${pool}",state="total"}`)).toBeGreaterThanOrEqual(1)
    expect(sample(text, 'roster_queue_depth{queue="log_appender"}')).toBeGreaterThanOrEqual(0)
    expect(sample(text, 'roster_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('reads queue depths and event lag from the database', async () => {
    t = await startApp(base, {}, { metrics: { token: TOKEN, orgLabel: false } })
    const before = await scrape()
    expect(sample(before.text, 'roster_event_lag_events{consumer="webhooks"}')).toBe(0)
    // An endpoint whose cursor stays behind: no dispatcher runs in this app to fan events out.
    await t.store.webhooks.createEndpoint({ orgId: t.orgId, id: t.deps.newId(), url: 'https://hooks.example.com/r', description: '', eventTypes: [], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', now: new Date().toISOString() })
    for (const n of ['c1', 'c2', 'c3']) expect((await t.req('POST', '/Users', user(`${n}@example.com`))).status).toBe(201)
    // PostgreSQL gives events their positions just after the commit: scrape until they have them.
    let after = await scrape()
    for (let i = 0; i < 50 && sample(after.text, 'roster_event_lag_events{consumer="webhooks"}') !== 3; i++) {
      await new Promise((r) => setTimeout(r, 100))
      after = await scrape()
    }
    expect(sample(after.text, 'roster_event_lag_events{consumer="webhooks"}')).toBe(3)
    expect(sample(after.text, 'roster_queue_depth{queue="webhook_deliveries"}')).toBe(0)
    expect(sample(after.text, 'roster_queue_depth{queue="invitation_emails"}')).toBe(0)
  })

  it('labels each organization only when asked', async () => {
    t = await startApp(base, {}, { metrics: { token: TOKEN, orgLabel: true } })
    expect((await t.req('GET', '/Users')).status).toBe(200)
    const { text } = await scrape()
    expect(sample(text, `roster_http_requests_total{route="/scim/v2/Users",method="GET",status="200",identity_provider="unknown",organization="${t.orgId}"}`)).toBe(1)
  })

  it('serves every metric the sample Grafana dashboard queries', async () => {
    t = await startApp(base, {}, { metrics: { token: TOKEN, orgLabel: false } })
    expect((await t.req('POST', '/Users', user('dash@example.com'))).status).toBe(201)
    const { text } = await scrape()
    const dashboard = readFileSync(join(import.meta.dirname, '../../docs/grafana-dashboard.json'), 'utf8')
    const queried = new Set([...dashboard.matchAll(/\b(roster_[a-z0-9_]+?)(?:_bucket|_sum|_count)?\{/g)].map((m) => m[1] as string))
    expect(queried.size).toBeGreaterThan(5)
    const served = new Set([...text.matchAll(/^# TYPE (roster_[a-z0-9_]+) /gm)].map((m) => m[1] as string))
    expect([...queried].filter((m) => !served.has(m))).toEqual([])
  })
})
