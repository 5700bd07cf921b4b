// An endpoint the delivery loop disables tells the organization (docs/architecture.md EVT-8):
// a `webhook.endpoint_disabled` notice written with the disabling, readable from the feed and
// delivered to the organization's other endpoints that take it, never to the disabled one (not
// even once it is enabled again and catches up on the feed), nor to another organization. The
// disabled endpoint's queue stops growing while events keep being written: the fan-out skips it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import type { OrgId } from '../../src/store/store.ts'
import { startApp, user, type TestApp } from '../helpers/app.ts'
import { apiCall } from '../helpers/api-client.ts'
import { storeMatrix } from '../helpers/stores.ts'
import { eventually, startReceiver, type Receiver } from '../helpers/webhook-receiver.ts'

const NOTICE = 'webhook.endpoint_disabled'

describe.each(storeMatrix())('a disabled webhook endpoint on $name', (factory) => {
  let t: TestApp
  const receivers: Receiver[] = []
  const receiver = async () => {
    const rx = await startReceiver()
    receivers.push(rx)
    return rx
  }
  beforeAll(async () => {
    t = await startApp(factory, {}, { webhooks: { timeoutMs: 2_000, intervalMs: 50 } })
  })
  afterAll(async () => {
    await t.close()
    for (const rx of receivers) await rx.stop()
  })

  const keyOf = async (orgId: OrgId) => (await createApiKey(t.deps, { name: 'notice', orgId, scopes: ['*'], expiresAt: null })).key
  const types = (rx: Receiver) => rx.requests.map((r) => (JSON.parse(r.body) as { type: string }).type)
  const count = (rx: Receiver, type: string) => types(rx).filter((x) => x === type).length

  it('writes a notice with the disabling, to the feed and the other endpoints that take it; the disabled endpoint\'s queue stops growing', async () => {
    const key = await keyOf(t.orgId)
    const hook = async (url: string, eventTypes: string[], k = key, orgId: string = t.orgId) => {
      const r = await apiCall(t, 'POST', `/orgs/${orgId}/webhooks`, k, { url, eventTypes })
      expect(r.status).toBe(201)
      return String(r.json.id)
    }
    const [gone, all, watcher, users, elsewhere] = await Promise.all([receiver(), receiver(), receiver(), receiver(), receiver()])
    gone.answer = () => ({ status: 410 })
    // A receiver's URL may carry its own secret: the notice shows it as a viewer sees the endpoint.
    const goneId = await hook(`${gone.url}?token=s3cret`, [])
    await hook(all.url, [])
    await hook(watcher.url, [NOTICE])
    await hook(users.url, ['user.created'])
    const other = await t.newOrg(`notice-other-${crypto.randomUUID()}`)
    const otherKey = await keyOf(other.orgId)
    await hook(elsewhere.url, [], otherKey, other.orgId)

    expect((await t.req('POST', '/Users', user('first@notice.test'))).status).toBe(201)
    await eventually(async () => (await apiCall(t, 'GET', `/orgs/${t.orgId}/webhooks/${goneId}`, key)).json.enabled === false, 10_000, 'the endpoint disabled')

    // The feed has it, with the endpoint, its URL (query values redacted) and the reason.
    const feed = async (orgId: string, k: string) => ((await apiCall(t, 'GET', `/orgs/${orgId}/events?types=${NOTICE}&limit=100`, k)).json.data ?? []) as { type: string; data: Record<string, unknown> }[]
    await eventually(async () => (await feed(t.orgId, key)).length >= 1, 10_000, 'the notice in the feed')
    const notices = await feed(t.orgId, key)
    expect(notices).toHaveLength(1)
    expect(notices[0]).toMatchObject({
      type: NOTICE,
      data: { id: goneId, url: `${gone.url}?token=redacted`, reason: 'the endpoint answered 410 Gone', failingSince: null, orgId: t.orgId, disabledAt: expect.any(String) },
    })
    expect(JSON.stringify(notices)).not.toContain('s3cret')

    // Delivered to the endpoints that take it, once each; not to one of other types, nor to another organization.
    await eventually(() => count(all, NOTICE) >= 1 && count(watcher, NOTICE) >= 1 && count(users, 'user.created') >= 1 && count(all, 'user.created') >= 1, 10_000, 'the deliveries')
    expect(count(all, NOTICE)).toBe(1)
    expect(types(watcher)).toEqual([NOTICE])
    expect(types(users)).toEqual(['user.created'])
    expect(types(gone)).toEqual(['user.created'])

    // Events keep being written; the enabled endpoints get them, the disabled one's queue holds only
    // the delivery it was disabled by (its cursor stays: the fan-out skips a disabled endpoint).
    const depth = async () => (await t.store.queueDepths()).webhookDeliveries
    await eventually(async () => (await depth()) === 1, 10_000, 'the others\' queues drained')
    for (let i = 0; i < 10; i++) expect((await t.req('POST', '/Users', user(`more-${i}@notice.test`))).status).toBe(201)
    await eventually(() => count(users, 'user.created') === 11 && count(all, 'user.created') === 11, 10_000, 'the later events delivered')
    await eventually(async () => (await depth()) === 1, 10_000, 'the others\' queues drained again')
    expect(types(gone)).toEqual(['user.created'])

    // Enabled again, it catches up on the feed from where it stopped: every user, never its own notice.
    gone.answer = () => ({ status: 200 })
    expect((await apiCall(t, 'PATCH', `/orgs/${t.orgId}/webhooks/${goneId}`, key, { enabled: true })).status).toBe(200)
    await eventually(() => gone.accepted.length >= 11, 10_000, 'the backlog delivered')
    await eventually(async () => (await depth()) === 0, 10_000, 'every queue drained')
    expect(count(gone, NOTICE)).toBe(0)
    expect(count(gone, 'user.created')).toBe(12)
    expect(await feed(other.orgId, otherKey)).toEqual([])
    expect(count(elsewhere, NOTICE)).toBe(0)
  }, 60_000)
})
