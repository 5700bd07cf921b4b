// A receiver's Retry-After (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) on a 429 or a 503
// sets the earliest next attempt; without one the retry follows the backoff schedule (5 s ±20 %
// after a first failure, src/events/backoff.ts). Through the app listening on a real port, on each
// store: the attempts API says what was answered, and the delivery's own row says when it is due.
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

type Json = Record<string, unknown>

/** Each pending delivery's next attempt (epoch ms) and failures so far, by endpoint id, read from the database. */
async function pendingDeliveries(kind: 'sqlite' | 'postgres', url: string): Promise<Map<string, { nextAttemptMs: number; attempts: number }>> {
  const q = 'select endpoint_id, next_attempt_ms, attempts from webhook_deliveries'
  let rows: { endpoint_id: string; next_attempt_ms: number | string; attempts: number | string }[]
  if (kind === 'sqlite') {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    try {
      rows = db.prepare(q).all() as typeof rows
    } finally {
      db.close()
    }
  } else {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      rows = (await c.query<(typeof rows)[number]>(q)).rows
    } finally {
      await c.end()
    }
  }
  return new Map(rows.map((r) => [r.endpoint_id, { nextAttemptMs: Number(r.next_attempt_ms), attempts: Number(r.attempts) }]))
}

describe.each(storeMatrix())('Retry-After on $name', (base) => {
  const db = remembering(base)
  let t: TestApp
  let origin = ''
  let key = ''
  const receivers: Receiver[] = []

  beforeAll(async () => {
    t = await startApp(db.factory, {}, { webhooks: { timeoutMs: 2_000, intervalMs: 50 } })
    origin = await listening(t)
    key = (await createApiKey(t.deps, { name: 'hooks', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
  })
  afterAll(async () => {
    await t.close()
    for (const r of receivers) await r.stop()
  })

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${origin}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await r.text()
    return { status: r.status, json: (text ? JSON.parse(text) : {}) as Json & { data?: Json[] } }
  }

  it('waits at least what a 429 or 503 asks for, and follows the backoff without the header', async () => {
    const httpDate = new Date(Date.now() + 600_000).toUTCString()
    const answers = {
      seconds: { status: 429, headers: { 'retry-after': '120' } },
      date: { status: 503, headers: { 'retry-after': httpDate } },
      none: { status: 503 },
      // Asking for less than the schedule does not make the retry sooner.
      short: { status: 429, headers: { 'retry-after': '1' } },
    } as const
    const ids = new Map<string, keyof typeof answers>()
    for (const name of Object.keys(answers) as (keyof typeof answers)[]) {
      const rx = await startReceiver()
      receivers.push(rx)
      rx.answer = () => answers[name]
      const ep = await api('POST', `/orgs/${t.orgId}/webhooks`, { url: rx.url, eventTypes: ['user.created'] })
      expect(ep.status).toBe(201)
      ids.set(String(ep.json.id), name)
    }
    const created = await fetch(`${origin}/scim/v2/Users`, { method: 'POST', headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(user('later@example.com')) })
    expect(created.status).toBe(201)

    const firstAttempt = async (id: string) => (await api('GET', `/orgs/${t.orgId}/webhooks/${id}/attempts`)).json.data ?? []
    for (const id of ids.keys()) await eventually(async () => (await firstAttempt(id)).length >= 1, 15_000, `the first attempt of ${ids.get(id)}`)
    const due = await pendingDeliveries(base.name, db.url())
    const waits: Record<string, number> = {}
    for (const [id, name] of ids) {
      const attempts = await firstAttempt(id)
      expect(attempts, name).toHaveLength(1)
      expect(attempts[0], name).toMatchObject({ status: answers[name].status, outcome: 'retrying' })
      const d = due.get(id)
      expect(d?.attempts, name).toBe(1)
      // From the recorded attempt's time to the delivery's next attempt.
      waits[name] = (d?.nextAttemptMs ?? 0) - Date.parse(String(attempts[0]?.at))
    }
    expect(waits.seconds).toBe(120_000)
    // An HTTP-date has whole seconds: the wait is up to a second short of the 600 s asked for.
    expect(waits.date).toBeGreaterThan(598_000)
    expect(waits.date).toBeLessThanOrEqual(600_000)
    for (const name of ['none', 'short']) {
      expect(waits[name], name).toBeGreaterThanOrEqual(4_000)
      expect(waits[name], name).toBeLessThanOrEqual(6_000)
    }
  }, 60_000)
})
