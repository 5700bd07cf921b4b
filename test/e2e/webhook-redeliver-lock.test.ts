// A redelivery on PostgreSQL takes the endpoint's row lock, as a fan-out and a replay do, so it
// is ordered against a completion handing a lane's head on. Without the lock, a completion that
// committed between the redelivery's look at the lane (busy: the event's first delivery still
// queued) and its commit found no next delivery to promote, and the redelivery stayed behind no
// head, never sent (seen once in CI as "timed out waiting for the redelivery").
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { startApp, type TestApp } from '../helpers/app.ts'
import { apiCall } from '../helpers/api-client.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

describe.each(storeMatrix().filter((f) => f.name === 'postgres'))('a redelivery and the endpoint lock on $name', (base) => {
  const { factory, url } = remembering(base)
  let t: TestApp
  let key: string
  let rx: Receiver

  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 1_000, intervalMs: 50 } })
    key = (await createApiKey(t.deps, { name: 'hooks', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    rx = await startReceiver()
  })
  afterAll(async () => {
    await t.close()
    await rx.stop()
  })

  it('waits while another transaction holds the endpoint, then queues the event, which is delivered', async () => {
    const made = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: rx.url, eventTypes: ['group.created'] })
    expect(made.status).toBe(201)
    const ep = made.json as { id: string; secret: string }
    rx.secrets = [ep.secret]
    expect((await t.req('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'locked' })).status).toBe(201)
    await eventually(() => rx.accepted.length >= 1, 10_000, 'the first delivery')
    const eventId = rx.accepted[0]?.webhookId as string

    // What a completing worker holds while it hands lane heads on.
    const holder = new pg.Client({ connectionString: url() })
    await holder.connect()
    try {
      await holder.query('begin')
      await holder.query('select id from webhook_endpoints where id = $1 for update', [ep.id])
      let settled = false
      const redeliver = apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks/${ep.id}/redeliver`, key, { eventId }).finally(() => {
        settled = true
      })
      await new Promise((r) => setTimeout(r, 400))
      expect(settled).toBe(false)
      await holder.query('commit')
      expect((await redeliver).status).toBe(202)
    } finally {
      await holder.end()
    }
    await eventually(() => rx.accepted.length >= 2, 10_000, 'the redelivery')
    expect(rx.accepted[1]?.webhookId).toBe(eventId)
  })
})
