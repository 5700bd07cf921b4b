// Delivery results recorded late or twice, on each store, through the store the dispatcher uses.
// - The dispatcher queues a batch of results again when recording it failed: also when the COMMIT
//   went through and only its answer was lost (a connection dropped, a timeout). Recording the same
//   results a second time must change nothing, and must not fail: before, the attempts' primary
//   key refused the second insert, and the webhook loop retried the same batch every second,
//   recording nothing else, until the server restarted.
// - A worker whose lease ran out while its results waited (a slow database) must not hand back a
//   lane another worker has claimed since: a third worker would then send the same event beside
//   the second, and the lane's order would break.
// - A disabling for five days of failures, decided from the failing streak the claim read, must
//   not disable an endpoint whose streak a delivery has ended since; a disabling that takes
//   writes one `webhook.endpoint_disabled` notice, also when recorded twice (EVT-8).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endpointDisabled } from '../../src/events/build.ts'
import { NO_MAPPING } from '../../src/orgs/settings.ts'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { DeliveryJob, DeliveryResult } from '../../src/store/webhook-store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { eventually } from '../helpers/webhook-receiver.ts'

describe.each(storeMatrix())('delivery results recorded late or twice on $name', (factory) => {
  let t: TestApp
  let key: string
  beforeAll(async () => {
    // No dispatcher in the app: the test claims and records as one would.
    t = await startApp(factory)
    key = (await createApiKey(t.deps, { name: 'twice', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
  })
  afterAll(async () => t.close())

  /**
   * Fans out and claims until a claim returns lanes of `endpointId` (on PostgreSQL an event's
   * position comes a moment after its commit), `want` of them at least.
   */
  const claimFor = async (endpointId: string, owner: string, nowMs: number, leaseMs: number, want = 1): Promise<DeliveryJob[][]> => {
    const lanes: DeliveryJob[][] = []
    await eventually(async () => {
      await t.store.webhooks.fanOut(() => crypto.randomUUID(), nowMs, 100)
      const claimed = await t.store.webhooks.completeAndClaim([], new Date(nowMs).toISOString(), { owner, nowMs, leaseMs, limit: 100, followers: 0, perEndpoint: 100, busy: [] })
      lanes.push(...claimed.filter((l) => l[0]?.endpointId === endpointId).map((l) => [...l]))
      return lanes.length >= want
    }, 10_000, `${want} lane(s) of the endpoint`)
    return lanes
  }

  it('are recorded once, and the lane goes on to its next event', async () => {
    const ep = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: 'https://receiver.example.com/hooks', eventTypes: ['user.created', 'user.updated'] })
    expect(ep.status).toBe(201)
    const id = String((ep.json as { id: string }).id)
    const created = await t.req('POST', '/Users', user('twice@example.com'))
    expect(created.status).toBe(201)
    expect((await t.req('PATCH', `/Users/${String(created.json.id)}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Twice' }] })).status).toBe(200)
    const hooks = t.store.webhooks
    let nowMs = Date.now()
    const [lane] = await claimFor(id, 'first', nowMs, 10_000)
    const job = lane?.[0]
    expect(job?.endpointId).toBe(id)
    if (!job) return
    const result: DeliveryResult = {
      kind: 'delivered', job, index: job.offset,
      attempt: { id: crypto.randomUUID(), endpointId: id, eventId: 'e', eventType: 'user.created', at: new Date(nowMs).toISOString(), status: 200, durationMs: 3, outcome: 'delivered', excerpt: null, error: null },
    }
    await hooks.complete([result], new Date(nowMs).toISOString(), 'first')
    await hooks.complete([result], new Date(nowMs).toISOString(), 'first')
    expect((await hooks.listAttempts(t.orgId, id, null, 100)).map((a) => a.id)).toEqual([result.attempt.id])
    // The user's next event heads the lane now, and only it.
    nowMs += 1
    const next = await claimFor(id, 'second', nowMs, 10_000)
    expect(next).toHaveLength(1)
    expect(next[0]?.[0]?.position).toBeGreaterThan(job.position)
  })

  it('a worker whose lease ran out does not hand back the lane another worker holds now', async () => {
    const ep = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: 'https://late.example.com/hooks', eventTypes: ['group.created'] })
    expect(ep.status).toBe(201)
    expect((await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'leased' })).status).toBe(201)
    const hooks = t.store.webhooks
    let nowMs = Date.now() + 60_000
    const id = String((ep.json as { id: string }).id)
    const claim = (owner: string) => hooks.completeAndClaim([], new Date(nowMs).toISOString(), { owner, nowMs, leaseMs: 1_000, limit: 100, followers: 0, perEndpoint: 100, busy: [] })
    const mine = (lanes: readonly (readonly DeliveryJob[])[]) => lanes.filter((l) => l[0]?.endpointId === id)
    const [late] = await claimFor(id, 'late', nowMs, 1_000)
    expect(late).toBeDefined()
    if (!late?.[0]) return
    // The lease runs out; another worker claims the lane and is sending it.
    nowMs += 2_000
    expect(mine(await claim('now'))).toHaveLength(1)
    // The first worker's results arrive: it was stopped before sending (a release).
    await hooks.complete([{ kind: 'release', job: late[0], index: late[0].offset }], new Date(nowMs).toISOString(), 'late')
    expect(mine(await claim('third'))).toHaveLength(0)
  })

  it('a disabling for five days of failures does not disable an endpoint a delivery has recovered since; a 410 does', async () => {
    const made = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: 'https://streak.example.com/hooks', eventTypes: ['group.created'] })
    expect(made.status).toBe(201)
    const id = String((made.json as { id: string }).id)
    for (const name of ['streak-1', 'streak-2']) {
      expect((await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name })).status).toBe(201)
    }
    const hooks = t.store.webhooks
    const nowMs = Date.now() + 120_000
    const lanes = await claimFor(id, 'w', nowMs, 60_000, 2)
    expect(lanes).toHaveLength(2)
    const [a, b] = lanes.map((l) => l[0] as DeliveryJob)
    if (!a || !b) return
    const at = new Date(nowMs).toISOString()
    const attempt = (job: DeliveryJob, status: number) => ({
      id: crypto.randomUUID(), endpointId: id, eventId: `e-${job.position}`, eventType: 'group.created', at, status, durationMs: 1, outcome: 'disabled' as const, excerpt: null, error: null,
    })
    const notice = (reason: string, failingSince: string | null) => endpointDisabled({ orgId: t.orgId, at, newId: () => crypto.randomUUID(), mapping: NO_MAPPING }, {
      id, url: 'https://streak.example.com/hooks', reason, failingSince,
    })
    /** The notices of this endpoint's disabling in the feed (EVT-8); on PostgreSQL stamped a moment after the commit. */
    const notices = async () => (await t.store.readEvents(t.orgId, 0, 1_000, ['webhook.endpoint_disabled'])).filter((e) => e.resourceId === id)
    // Decided from a streak the claim read (five days old); the endpoint's streak has ended since.
    const stale = attempt(a, 500)
    const staleReason = 'every delivery has failed since … (5 days)'
    await hooks.complete([{ kind: 'disable', job: a, index: a.offset, attempt: stale, reason: staleReason, failingSince: '2020-01-01T00:00:00.000Z', notice: notice(staleReason, '2020-01-01T00:00:00.000Z') }], at, 'w')
    let ep = (await hooks.listEndpoints(t.orgId)).find((e) => e.id === id)
    expect(ep?.enabled).toBe(true)
    expect((await hooks.listAttempts(t.orgId, id, null, 10)).find((x) => x.id === stale.id)?.outcome).toBe('retrying')
    // A 410 disables whatever the streak, with its notice; the same result recorded again writes no second one.
    const gone: DeliveryResult = { kind: 'disable', job: b, index: b.offset, attempt: attempt(b, 410), reason: 'the endpoint answered 410 Gone', failingSince: null, notice: notice('the endpoint answered 410 Gone', null) }
    await hooks.complete([gone], at, 'w')
    await hooks.complete([gone], at, 'w')
    ep = (await hooks.listEndpoints(t.orgId)).find((e) => e.id === id)
    expect(ep?.enabled).toBe(false)
    await eventually(async () => (await notices()).length >= 1, 10_000, 'the notice in the feed')
    const written = await notices()
    expect(written).toHaveLength(1)
    expect(JSON.parse(written[0]?.payload ?? '{}')).toMatchObject({ type: 'webhook.endpoint_disabled', data: { id, reason: 'the endpoint answered 410 Gone', failingSince: null } })
  })
})
