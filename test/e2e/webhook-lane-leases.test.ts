// A lane run that stops at a failed event leaves nothing of its lane leased (docs/architecture.md,
// "Webhook lanes, leases and heads"). When few lanes are due, a claim leases each lane's head
// with the deliveries behind it (followers), and the run sends them one after another; a failure
// ends the run. The followers it never reached kept their lease: when the retry was then claimed
// without followers (more than 64 lanes due, as with several busy endpoints) and delivered, the
// next delivery became the lane's head still leased, and nobody could claim it until that lease
// ran out (31 s with the default 15 s timeout). Through the app on each store, on a clock the test
// moves, with a lease of a minute so that the stale one cannot run out meanwhile.
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiCall } from '../helpers/api-client.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { openQueue } from '../helpers/webhook-queue.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

/** Lanes beyond the 64 at or below which a claim takes followers, on each of two endpoints. */
const OTHERS = 70

describe.each(storeMatrix())('leases of a lane run stopped by a failure on $name', (base) => {
  const db = remembering(base)
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('the followers a failed run never sent are handed back: the next event goes out once the retry is delivered, also when the retry is claimed alone', async () => {
    let offset = 0
    const t: TestApp = await startApp(db.factory, {}, { now: () => new Date(Date.now() + offset), webhooks: { timeoutMs: 1_000, leaseMs: 60_000, intervalMs: 50 } })
    cleanups.push(() => t.close())
    const q = await openQueue(db.url())
    cleanups.push(() => q.close())
    const key = (await createApiKey(t.deps, { name: 'leases', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const receivers: Receiver[] = []
    const endpoints: string[] = []
    for (let i = 0; i < 2; i++) {
      const rx = await startReceiver()
      cleanups.push(() => rx.stop())
      rx.answer = () => ({ status: 503 })
      const ep = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: rx.url })
      expect(ep.status).toBe(201)
      rx.secrets = [String(ep.json.secret)]
      receivers.push(rx)
      endpoints.push(String(ep.json.id))
    }
    const [rxA] = receivers as [Receiver, Receiver]

    // A user created and retitled while the endpoints are disabled: enabled again, each endpoint
    // gets both events at once, and the claim takes the update along behind the create.
    for (const id of endpoints) expect((await apiCall(t, 'PATCH', `/orgs/${t.orgId}/webhooks/${id}`, key, { enabled: false })).status).toBe(200)
    const ada = await t.req('POST', '/Users', user('ada@example.com'))
    expect(ada.status).toBe(201)
    expect((await t.req('PATCH', `/Users/${String(ada.json.id)}`, patchOp({ op: 'replace', path: 'title', value: 'Engineer' }))).status).toBe(200)
    for (const id of endpoints) expect((await apiCall(t, 'PATCH', `/orgs/${t.orgId}/webhooks/${id}`, key, { enabled: true })).status).toBe(200)
    // The create is answered 503 and waits 5 s (±20 %) for its retry; nothing of its lane is leased meanwhile.
    await eventually(async () => (await q.heads()).filter((h) => h.attempts === 1).length === 2, 10_000, 'the create failed at both endpoints')
    await eventually(async () => (await q.leased()) === 0, 10_000, 'no delivery leased')

    // Seventy more users, each answered 503 at both endpoints: with the create's retry, 71 lanes
    // an endpoint come due together, more than a claim takes followers for.
    for (let i = 0; i < OTHERS; i++) expect((await t.req('POST', '/Users', user(`other${i}@example.com`))).status).toBe(201)
    await eventually(async () => (await q.heads()).filter((h) => h.attempts === 1).length === 2 * (OTHERS + 1), 20_000, 'every lane failed once')
    for (const rx of receivers) rx.answer = () => ({ status: 200 })
    // Ten seconds on: every retry is due, well within the first claim's lease of a minute.
    offset += 10_000
    await eventually(() => rxA.accepted.some((d) => d.event.type === 'user.updated'), 10_000, 'the update after the retried create')
    expect(rxA.accepted.filter((d) => d.event.data.id === ada.json.id).map((d) => d.event.type)).toEqual(['user.created', 'user.updated'])
    await eventually(() => receivers.every((rx) => new Set(rx.accepted.map((d) => d.webhookId)).size === OTHERS + 2), 10_000, 'every event at both endpoints')
  }, 60_000)
})
