// Webhook delivery slots are shared out among endpoints (docs/events.md, "Fairness"): an endpoint
// whose receiver answers slowly, with a backlog of many more lanes than the process has slots,
// takes at most its share, and the other endpoints (of its organization and of another one) get
// their events while it drains. A receiver that streams an endless body costs one excerpt of it
// and holds nothing up either. Through the app listening on a real port, on each store; the
// process's slots are cut to 8 (2 an endpoint) so that a small backlog outnumbers them.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { EXCERPT_BYTES } from '../../src/events/outbound.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { listening } from '../helpers/typed-client.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

type Json = Record<string, unknown>

const SLOTS = 8
const BACKLOG = 120
const SLOW_ANSWER_MS = 200

describe.each(storeMatrix())('webhook fairness on $name', (factory) => {
  let t: TestApp
  let base = ''
  const receivers: Receiver[] = []
  const servers: Server[] = []

  beforeAll(async () => {
    // The delay stays well under the timeout: nothing is retried, the slow lanes just hold their slots.
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 5_000, intervalMs: 50, concurrency: SLOTS } })
    base = await listening(t)
  })
  afterAll(async () => {
    await t.close()
    for (const r of receivers) await r.stop()
    for (const s of servers) {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
    }
  })

  const keyFor = async (orgId: TestApp['orgId']) => (await createApiKey(t.deps, { name: 'hooks', orgId, scopes: ['*'], expiresAt: null })).key
  const api = async (key: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await r.text()
    return { status: r.status, json: (text ? JSON.parse(text) : {}) as Json & { data?: Json[] } }
  }
  const scim = async (token: string, body: unknown) => {
    const r = await fetch(`${base}/scim/v2/Users`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify(body) })
    expect(r.status).toBe(201)
  }
  const receiver = async () => {
    const r = await startReceiver()
    receivers.push(r)
    return r
  }
  const addEndpoint = async (key: string, orgId: string, url: string) => {
    const r = await api(key, 'POST', `/orgs/${orgId}/webhooks`, { url, eventTypes: ['user.created'] })
    expect(r.status).toBe(201)
    return String(r.json.id)
  }

  it('a slow endpoint with a backlog larger than the slots leaves the others flowing, in its organization and in another', async () => {
    const key = await keyFor(t.orgId)
    const other = await t.newOrg(`fair-${Date.now()}`)
    const otherKey = await keyFor(other.orgId)

    const slow = await receiver()
    slow.answer = () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), SLOW_ANSWER_MS))
    const slowId = await addEndpoint(key, t.orgId, slow.url)
    // Disabled while the backlog is written, so that it is fanned out at once when enabled.
    expect((await api(key, 'PATCH', `/orgs/${t.orgId}/webhooks/${slowId}`, { enabled: false })).status).toBe(200)
    for (let i = 0; i < BACKLOG; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => scim(t.token, user(`backlog${i + j}@example.com`))))

    // On PostgreSQL events enter the feed a moment after their commit (docs/architecture.md, the
    // feed's gap-free cursor), and a new endpoint starts where the feed ends: wait for the backlog to
    // be in it, or the endpoints below would start before some of it and receive it too.
    await eventually(async () => ((await api(key, 'GET', `/orgs/${t.orgId}/events?types=user.created&limit=1000`)).json.data ?? []).length >= BACKLOG,
      10_000, 'the backlog in the feed')
    const sameOrg = await receiver()
    const otherOrg = await receiver()
    await addEndpoint(key, t.orgId, sameOrg.url)
    await addEndpoint(otherKey, other.orgId, otherOrg.url)
    expect((await api(key, 'PATCH', `/orgs/${t.orgId}/webhooks/${slowId}`, { enabled: true })).status).toBe(200)
    // The backlog is leased and going out (every one of its lanes became due before the events below).
    await eventually(() => slow.requests.length >= 1, 10_000, 'the slow backlog to start')

    for (let i = 0; i < 10; i++) {
      await scim(t.token, user(`same${i}@example.com`))
      await scim(other.token, user(`other${i}@example.com`))
    }
    await eventually(() => sameOrg.accepted.length >= 10 && otherOrg.accepted.length >= 10, 30_000, 'the other endpoints\' events')
    // Received while the slow endpoint is still far from through its backlog (one endpoint's share
    // of the slots is SLOTS / 4; without sharing, the backlog would have had every slot until drained).
    const slowSoFar = slow.accepted.length
    expect(slowSoFar).toBeLessThan(BACKLOG / 2)
    expect(sameOrg.accepted.map((d) => d.event.data.userName)).toEqual(Array.from({ length: 10 }, (_, i) => `same${i}@example.com`))
    expect(otherOrg.accepted.map((d) => d.event.data.userName)).toEqual(Array.from({ length: 10 }, (_, i) => `other${i}@example.com`))
    // The slow endpoint never had more than its share in flight at once, and still gets everything.
    let inFlight = 0
    let most = 0
    slow.answer = () => {
      most = Math.max(most, ++inFlight)
      return new Promise((resolve) => setTimeout(() => {
        inFlight--
        resolve({ status: 200 })
      }, 20))
    }
    await eventually(() => slow.accepted.length >= BACKLOG + 10, 60_000, 'the slow backlog drained')
    expect(most).toBeLessThanOrEqual(SLOTS / 4)
    expect(new Set(slow.accepted.map((d) => d.webhookId)).size).toBe(BACKLOG + 10)
  }, 120_000)

  it('a receiver streaming an endless body costs one excerpt per delivery and holds up no other endpoint', async () => {
    const org = await t.newOrg(`stream-${Date.now()}`)
    const key = await keyFor(org.orgId)
    // Answers 200 and writes 64 KiB chunks until the connection is closed under it.
    let opened = 0
    let closed = 0
    const hostile = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        opened++
        res.writeHead(200, { 'content-type': 'text/plain' })
        const chunk = Buffer.alloc(64 * 1024, 'x')
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump)
        }
        res.on('close', () => closed++)
        pump()
      })
    })
    servers.push(hostile)
    await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r))
    const hostileId = await addEndpoint(key, org.orgId, `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/hooks`)
    const fast = await receiver()
    await addEndpoint(key, org.orgId, fast.url)

    for (let i = 0; i < 20; i++) await scim(org.token, user(`stream${i}@example.com`))
    await eventually(() => fast.accepted.length >= 20, 30_000, 'the other endpoint\'s events')
    const attempts = async () => (await api(key, 'GET', `/orgs/${org.orgId}/webhooks/${hostileId}/attempts?limit=100`)).json.data ?? []
    await eventually(async () => (await attempts()).length >= 20, 30_000, 'the streaming endpoint\'s attempts')
    const rows = await attempts()
    expect(rows).toHaveLength(20)
    for (const a of rows) {
      expect(a).toMatchObject({ status: 200, outcome: 'delivered' })
      expect(Buffer.byteLength(String(a.excerpt))).toBeLessThanOrEqual(EXCERPT_BYTES)
      expect(String(a.excerpt)).toMatch(/^x+$/)
    }
    // Each endless answer was cut off by Roster, not read to its end (it has none).
    await eventually(() => closed >= 20, 10_000, 'the streams closed')
    expect(opened).toBe(20)
    expect(fast.accepted.map((d) => d.event.data.userName)).toEqual(Array.from({ length: 20 }, (_, i) => `stream${i}@example.com`))
  }, 60_000)
})
