// Webhook delivery through the real server on each store: Standard Webhooks signatures verified
// by a real receiver with the `standardwebhooks` package, order per resource, retries across a
// receiver outage, 410 disabling the endpoint, secret rotation, redelivery and replay, attempts
// readable through the API, the SSRF guard, and organization isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'
import { apiCall } from '../helpers/api-client.ts'

type Json = Record<string, unknown>

describe.each(storeMatrix())('webhooks on $name', (factory) => {
  let t: TestApp
  let key: string
  let rx: Receiver

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, k = key) => {
    const r = await apiCall(t, method, path, k, body)
    return { status: r.status, json: r.json as Json & { data?: Json[] } }
  }

  const addEndpoint = async (url: string, extra: Json = {}) => {
    const r = await api('POST', `/orgs/${t.orgId}/webhooks`, { url, ...extra })
    expect(r.status).toBe(201)
    expect(String(r.json.secret)).toMatch(/^whsec_/)
    return { id: String(r.json.id), secret: String(r.json.secret) }
  }

  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    key = (await createApiKey(t.deps, { name: 'hooks', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    rx = await startReceiver()
  })
  afterAll(async () => {
    await t.close()
    await rx.stop()
  })

  it('delivers every event signed as Standard Webhooks says, in order per resource, and records each attempt', async () => {
    const ep = await addEndpoint(rx.url)
    rx.secrets = [ep.secret]
    const created: string[] = []
    for (let i = 0; i < 20; i++) {
      const r = await t.req('POST', '/Users', user(`hook${i}@example.com`))
      created.push(String(r.json.id))
    }
    for (const id of created.slice(0, 5)) {
      expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Engineer' }))).status).toBe(200)
      expect((await t.req('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(200)
    }
    // 20 created, 5 × (updated, updated + deactivated)
    await eventually(() => rx.accepted.length >= 35, 15_000, '35 deliveries')
    expect(rx.badSignatures).toEqual([])
    expect(rx.accepted.length).toBe(35)
    // The webhook-id is the event's id; the body is the event exactly as the feed serves it.
    for (const d of rx.accepted) expect(d.webhookId).toBe(d.event.id)
    const feed = await api('GET', `/orgs/${t.orgId}/events?limit=1000`)
    const feedIds = new Set((feed.json.data ?? []).map((e) => e.id))
    for (const d of rx.accepted) expect(feedIds.has(d.event.id)).toBe(true)
    // Per resource: versions never go down, and a user's created precedes its updates.
    const byUser = new Map<string, { type: string; version: number }[]>()
    for (const d of rx.accepted) byUser.set(d.event.data.id, [...(byUser.get(d.event.data.id) ?? []), { type: d.event.type, version: d.event.data.version }])
    for (const id of created.slice(0, 5)) {
      expect(byUser.get(id)?.map((e) => e.type)).toEqual(['user.created', 'user.updated', 'user.updated', 'user.deactivated'])
      const versions = byUser.get(id)?.map((e) => e.version) ?? []
      expect([...versions].sort((a, b) => a - b)).toEqual(versions)
    }
    // Each attempt is recorded once the receiver's answer is back, a moment after it counted the delivery.
    const recorded = async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}/attempts?limit=100`)).json.data?.length ?? 0
    await eventually(async () => (await recorded()) >= 35, 10_000, '35 attempts recorded')
    const attempts = await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}/attempts?limit=100`)
    expect(attempts.status).toBe(200)
    expect(attempts.json.data?.length).toBe(35)
    expect(attempts.json.data?.every((a) => a.status === 200 && a.outcome === 'delivered')).toBe(true)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })

  it('retries across a receiver outage and delivers everything once it is back', async () => {
    rx.accepted.length = 0
    const ep = await addEndpoint(rx.url, { eventTypes: ['user.created'] })
    rx.secrets = [ep.secret]
    await rx.stop()
    for (let i = 0; i < 5; i++) await t.req('POST', '/Users', user(`outage${i}@example.com`))
    // Every lane's first attempt fails (connection refused) and waits on its backoff (~5 s).
    await eventually(async () => ((await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}/attempts`)).json.data?.length ?? 0) >= 5, 10_000, 'failed attempts')
    const failed = (await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}/attempts`)).json.data ?? []
    expect(failed.every((a) => a.status === null && a.outcome === 'retrying' && typeof a.error === 'string')).toBe(true)
    expect((await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}`)).json.failingSince).toEqual(expect.any(String))
    await rx.start()
    await eventually(() => rx.accepted.length >= 5, 15_000, 'deliveries after the outage')
    expect(rx.accepted.map((d) => d.event.data.userName).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `outage${i}@example.com`))
    expect(rx.badSignatures).toEqual([])
    // A success ends the endpoint's failure run (recorded once the receiver's answer is back).
    await eventually(async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}`)).json.failingSince === null, 10_000, 'the failure run ended')
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  }, 30_000)

  it('a 410 from the receiver disables the endpoint, and re-enabling it delivers what waited', async () => {
    rx.accepted.length = 0
    const ep = await addEndpoint(rx.url, { eventTypes: ['user.created'] })
    rx.secrets = [ep.secret]
    rx.answer = () => ({ status: 410 })
    await t.req('POST', '/Users', user('gone@example.com'))
    await eventually(async () => (await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}`)).json.enabled === false, 10_000, 'disabled')
    expect((await api('GET', `/orgs/${t.orgId}/webhooks/${ep.id}`)).json.disabledReason).toMatch(/410/)
    rx.answer = () => ({ status: 200 })
    await t.req('POST', '/Users', user('gone2@example.com'))
    await new Promise((r) => setTimeout(r, 300))
    expect(rx.accepted.length).toBe(0)
    expect((await api('PATCH', `/orgs/${t.orgId}/webhooks/${ep.id}`, { enabled: true })).json.enabled).toBe(true)
    await eventually(() => rx.accepted.length >= 2, 10_000, 'deliveries after re-enabling')
    expect(rx.accepted.map((d) => d.event.data.userName)).toEqual(['gone@example.com', 'gone2@example.com'])
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })

  it('a rotated secret signs beside the new one during the overlap: each verifies alone', async () => {
    rx.accepted.length = 0
    const ep = await addEndpoint(rx.url, { eventTypes: ['user.created'] })
    const rot = await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/rotate-secret`)
    expect(String(rot.json.secret)).toMatch(/^whsec_/)
    rx.secrets = [ep.secret, String(rot.json.secret)]
    await t.req('POST', '/Users', user('rotated@example.com'))
    await eventually(() => rx.accepted.length >= 1, 10_000, 'a delivery')
    expect(rx.badSignatures).toEqual([])
    expect(rx.accepted[0]?.signature.split(' ')).toHaveLength(2)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })

  it('redelivers one event and replays from a cursor with the same webhook-id', async () => {
    rx.accepted.length = 0
    const ep = await addEndpoint(rx.url, { eventTypes: ['group.created'] })
    rx.secrets = [ep.secret]
    const start = (await api('GET', `/orgs/${t.orgId}/events?limit=1000`)).json.nextCursor
    for (const n of ['g-one', 'g-two', 'g-three']) await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: n })
    await eventually(() => rx.accepted.length >= 3, 10_000, 'three deliveries')
    const first = rx.accepted.map((d) => d.webhookId)
    expect((await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/redeliver`, { eventId: first[1] })).status).toBe(202)
    await eventually(() => rx.accepted.length >= 4, 10_000, 'the redelivery')
    expect(rx.accepted[3]?.webhookId).toBe(first[1])
    const replay = await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/replay`, { after: start })
    expect(replay.json.queued).toBe(3)
    await eventually(() => rx.accepted.length >= 7, 10_000, 'the replay')
    expect(rx.accepted.slice(4).map((d) => d.webhookId).sort()).toEqual([...first].sort())
    expect((await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/redeliver`, { eventId: 'no-such-event' })).status).toBe(404)
    expect((await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/replay`, { after: 'garbage' })).status).toBe(400)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })

  it('the test endpoint sends a signed webhook.test now', async () => {
    rx.accepted.length = 0
    const ep = await addEndpoint(rx.url)
    rx.secrets = [ep.secret]
    const r = await api('POST', `/orgs/${t.orgId}/webhooks/${ep.id}/test`)
    expect(r.json.status).toBe(200)
    expect(rx.accepted.at(-1)?.event.type).toBe('webhook.test')
    expect(rx.badSignatures).toEqual([])
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })

  it('refuses bad endpoints with a 400 naming the problem, and hides them from other organizations', async () => {
    expect((await api('POST', `/orgs/${t.orgId}/webhooks`, { url: 'ftp://example.com/x' })).status).toBe(400)
    expect((await api('POST', `/orgs/${t.orgId}/webhooks`, { url: 'not a url' })).status).toBe(400)
    const types = await api('POST', `/orgs/${t.orgId}/webhooks`, { url: rx.url, eventTypes: ['user.exploded'] })
    expect(types.status).toBe(400)
    expect(String(types.json.message)).toMatch(/user\.exploded/)
    const ep = await addEndpoint(rx.url)
    const other = await t.newOrg(`other-${Date.now()}`)
    const otherKey = (await createApiKey(t.deps, { name: 'other', orgId: other.orgId, scopes: ['*'], expiresAt: null })).key
    expect((await api('GET', `/orgs/${t.orgId}/webhooks`, undefined, otherKey)).status).toBe(404)
    expect((await api('GET', `/orgs/${other.orgId}/webhooks/${ep.id}`, undefined, otherKey)).status).toBe(404)
    expect((await api('DELETE', `/orgs/${other.orgId}/webhooks/${ep.id}`, undefined, otherKey)).status).toBe(404)
    const readOnly = (await createApiKey(t.deps, { name: 'ro', orgId: t.orgId, scopes: ['directory:read'], expiresAt: null })).key
    expect((await api('GET', `/orgs/${t.orgId}/webhooks`, undefined, readOnly)).status).toBe(403)
    const list = await api('GET', `/orgs/${t.orgId}/webhooks`)
    expect(JSON.stringify(list.json)).not.toMatch(/whsec_/)
    await api('DELETE', `/orgs/${t.orgId}/webhooks/${ep.id}`)
  })
})

describe.each(storeMatrix().slice(0, 1))('webhook address guard on $name', (factory) => {
  it('refuses loopback and private receivers unless the operator allows them', async () => {
    const t = await startApp(factory)
    try {
      const key = (await createApiKey(t.deps, { name: 'k', orgId: null, scopes: ['*'], expiresAt: null })).key
      for (const url of ['http://127.0.0.1:9/x', 'http://10.0.0.1/x', 'http://169.254.169.254/latest', 'http://[::1]/x']) {
        const r = await t.app.inject({ method: 'POST', url: `/api/v1/orgs/${t.orgId}/webhooks`, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify({ url }) })
        expect(r.statusCode, url).toBe(400)
      }
    } finally {
      await t.close()
    }
  })
})

describe.each(storeMatrix())('a long lane on $name', (factory) => {
  it('a membership change of 1,500 events goes out in order through runs cut short by their lease, none twice', async () => {
    // A lease of 1.5 s with a 1 s timeout: a run may send for half a second, then hands the lane back.
    const t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, leaseMs: 1_500, intervalMs: 50 } })
    const rx = await startReceiver()
    try {
      const key = (await createApiKey(t.deps, { name: 'k', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
      const ids: string[] = []
      for (let b = 0; b < 15; b++) {
        ids.push(...await Promise.all(Array.from({ length: 100 }, async (_, i) => String((await t.req('POST', '/Users', user(`lane${b}-${i}@example.com`))).json.id))))
      }
      const g = await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Long lane' })
      const r = await t.app.inject({
        method: 'POST', url: `/api/v1/orgs/${t.orgId}/webhooks`, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ url: rx.url, eventTypes: ['group.member_added'] }),
      })
      rx.secrets = [String(r.json<{ secret: string }>().secret)]
      rx.answer = async () => {
        await new Promise((res) => setTimeout(res, 1))
        return { status: 200 }
      }
      for (const part of [ids.slice(0, 1_000), ids.slice(1_000)]) {
        expect((await t.req('PATCH', `/Groups/${String(g.json.id)}`, patchOp({ op: 'add', path: 'members', value: part.map((value) => ({ value })) }))).status).toBe(204)
      }
      await eventually(() => rx.accepted.length >= 1_500, 60_000, '1,500 deliveries')
      await new Promise((res) => setTimeout(res, 300))
      expect(rx.accepted).toHaveLength(1_500)
      // Feed order: the first change's 1,000 events, then the second's 500 (ids `<change>_<index>`).
      const parts = rx.accepted.map((d) => d.webhookId.split('_') as [string, string])
      const changes = [...new Set(parts.map(([c]) => c))]
      expect(parts.map(([c, i]) => `${changes.indexOf(c)}:${i}`)).toEqual([
        ...Array.from({ length: 1_000 }, (_, i) => `0:${i}`), ...Array.from({ length: 500 }, (_, i) => `1:${i}`),
      ])
      expect(rx.accepted.map((d) => (d.event.data as unknown as { member: { id: string } }).member.id).sort()).toEqual([...ids].sort())
      expect(rx.badSignatures).toEqual([])
    } finally {
      await t.close()
      await rx.stop()
    }
  }, 90_000)
})
