// A receiver down for an hour while an identity provider keeps writing (docs/architecture.md
// EVT-1): 10,000 events over 1,000 resources (500 users each created, retitled and deactivated
// and reactivated twice; 500 groups each created with three members and given three more twice),
// the receiver refusing connections, then answering 503 (without Retry-After, with
// delay-seconds, with an HTTP-date: RFC 9110 §10.2.3), then taking each request and never
// answering, then healthy. The hour is compressed on the app's clock: the retry schedule
// (src/events/backoff.ts: 5 s, 5 min, 30 min, 2 h …) comes due when the test moves the clock,
// which it does only while no delivery is in flight (test/helpers/webhook-queue.ts says why).
// Standard Webhooks 1.0 asks for at-least-once delivery with a stable `webhook-id` that
// receivers deduplicate by; Roster adds order per resource (docs/events.md, "Guarantees"). What
// the receiver saw is compared with the feed read through the API and with the attempts Roster
// recorded.
import { Webhook } from 'standardwebhooks'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/provisioning/api-keys.ts'
import { apiCall, apiGet, FeedReader, type FeedEvent } from '../helpers/api-client.ts'
import { patchOp, startApp, user, type TestApp } from '../helpers/app.ts'
import { drainFeed } from '../helpers/feed-over-http.ts'
import { remembering, storeMatrix } from '../helpers/stores.ts'
import { openQueue, type QueueReader } from '../helpers/webhook-queue.ts'
import { eventually, startReceiver, type Answer, type Receiver } from '../helpers/webhook-receiver.ts'

const USERS = 500
const GROUPS = 500
const EVENTS_EACH = 10
const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** The per-attempt timeout: how long a hung request holds its lane (real time). */
const TIMEOUT_MS = 300
/** A head due within this much of the clock counts as due: the clock is not moved past it. */
const DUE_MARGIN_MS = 2_000
/** Bulk requests sent at once for one round of writes (each of its operations is its own transaction). */
const BULKS = 8
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'

type Phase = 'refused' | '503' | 'hang' | 'healthy'
type RetryAfter = 'none' | 'seconds' | 'date'

/** One request the receiver took: its event, in which phase, at which time of the app's clock. */
interface Arrival { readonly id: string; readonly phase: Phase; readonly atMs: number; readonly retryAfter?: RetryAfter }

interface Attempt { readonly eventId: string; readonly status: number | null; readonly outcome: string; readonly error: string | null }

describe.each(storeMatrix())('a receiver down for an hour on $name', (base) => {
  const db = remembering(base)
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('gets each of 10,000 events over 1,000 resources once it recovers, in order per resource, copies with their first id and body, none given up', async () => {
    let offset = 0
    const clock = () => Date.now() + offset
    const t: TestApp = await startApp(db.factory, {}, { now: () => new Date(clock()), webhooks: { timeoutMs: TIMEOUT_MS, intervalMs: 50 } })
    cleanups.push(() => t.close())
    const q: QueueReader = await openQueue(db.url())
    cleanups.push(() => q.close())
    const rx: Receiver = await startReceiver()
    cleanups.push(() => rx.stop())
    const key = (await createApiKey(t.deps, { name: 'outage', orgId: t.orgId, scopes: ['*'], expiresAt: null })).key
    const ep = await apiCall(t, 'POST', `/orgs/${t.orgId}/webhooks`, key, { url: rx.url })
    expect(ep.status).toBe(201)
    const endpointId = String(ep.json.id)

    // The receiver's own check would take the moved clock's timestamps for replays ("too new"): each
    // request is verified here instead, its signature with the `standardwebhooks` library's signing
    // and the same secret, its timestamp against the app's clock (within 5 minutes).
    const signer = new Webhook(String(ep.json.secret))
    const forged: string[] = []
    /** Each resource's number, which decides the Retry-After its 503 carries. */
    const numberOf = new Map<string, number>()
    let phase: Phase = 'refused'
    const arrivals: Arrival[] = []
    rx.answer = (body): Answer => {
      // Called right after the receiver recorded the request: it is the last of rx.requests.
      const h = rx.requests[rx.requests.length - 1]?.headers ?? {}
      const atMs = clock()
      const [id, ts] = [String(h['webhook-id']), Number(h['webhook-timestamp'])]
      if (!String(h['webhook-signature']).split(' ').includes(signer.sign(id, new Date(ts * 1_000), body)) || Math.abs(ts * 1_000 - atMs) > 5 * MINUTE) forged.push(id)
      if (phase === '503') {
        // A third each: no Retry-After (the schedule's 30 min), 40 min in seconds, 45 min as an HTTP-date.
        const retryAfter = (['none', 'seconds', 'date'] as const)[(numberOf.get((JSON.parse(body) as FeedEvent).data.id) ?? 0) % 3] ?? 'none'
        arrivals.push({ id, phase, atMs, retryAfter })
        const headers: Record<string, string> = retryAfter === 'seconds' ? { 'retry-after': String(40 * 60) }
          : retryAfter === 'date' ? { 'retry-after': new Date(atMs + 45 * MINUTE).toUTCString() } : {}
        return { status: 503, headers, body: 'down for maintenance' }
      }
      arrivals.push({ id, phase, atMs })
      return phase === 'hang' ? 'hang' : { status: 200 }
    }

    /**
     * Waits until the fan-out has caught up and no lane head is leased (in flight, or its result
     * not yet recorded) or due within DUE_MARGIN_MS: nothing runs that a jump of the clock could
     * outdate, and nothing becomes due before the jump.
     */
    const settled = (what: string) => eventually(async () => {
      if ((await q.unfanned(t.orgId, endpointId)) > 0) return false
      const c = clock()
      return (await q.heads()).every((h) => h.leaseUntilMs < c && h.nextAttemptMs > c + DUE_MARGIN_MS)
    }, 60_000, what)
    /** Moves the clock to `target`, stopping at each time every head due by then is due, and letting those attempts run. */
    const advanceTo = async (target: number, what: string) => {
      for (;;) {
        await settled(what)
        const c = clock()
        const due = (await q.heads()).map((h) => h.nextAttemptMs).filter((ms) => ms > c && ms <= target)
        if (due.length === 0) break
        offset += Math.max(...due) + 1 - c
      }
      offset += Math.max(0, target - clock())
    }

    /** Operations sent as BULKS Bulk requests at once; each one must succeed. Returns the ids created. */
    const bulk = async (ops: { method: string; path: string; data: unknown }[]): Promise<string[]> => {
      const size = Math.ceil(ops.length / BULKS)
      const parts = await Promise.all(Array.from({ length: BULKS }, async (_, b) => {
        const part = ops.slice(b * size, (b + 1) * size)
        if (part.length === 0) return []
        const r = await t.req('POST', '/Bulk', { schemas: [BULK], Operations: part.map((op, i) => ({ ...op, ...(op.method === 'POST' ? { bulkId: `b${b}-${i}` } : {}) })) })
        expect(r.status).toBe(200)
        const results = r.json.Operations as { status: string; location?: string }[]
        for (const res of results) expect(['200', '201', '204']).toContain(res.status)
        return results.map((res) => String(res.location?.split('/').pop()))
      }))
      return parts.flat()
    }
    const users: string[] = []
    const groups: string[] = []
    const patchUsers = (op: Record<string, unknown>) => bulk(users.map((id) => ({ method: 'PATCH', path: `/Users/${id}`, data: patchOp(op) })))
    /** Members k to k + 2 of group g: users g·9 + k … (nine distinct users a group over the run). */
    const members = (g: number, k: number) => [0, 1, 2].map((j) => ({ value: users[(g * 9 + k + j) % USERS] as string }))
    const addMembers = (k: number) => bulk(groups.map((id, g) => ({ method: 'PATCH', path: `/Groups/${id}`, data: patchOp({ op: 'add', path: 'members', value: members(g, k) }) })))
    /** A user's five writes beyond its creation (title, then deactivated and reactivated twice) give nine events; a group's three writes give ten. */
    const deactivateAndReactivate = async () => {
      await patchUsers({ op: 'replace', path: 'active', value: false })
      await patchUsers({ op: 'replace', path: 'active', value: true })
    }

    const t0 = clock()
    // Refusing, minute 0 to 3: nothing listens on the receiver's port. The users and groups are
    // created; each lane's head fails at once and again 5 s later, then waits 5 min.
    await rx.stop()
    users.push(...await bulk(Array.from({ length: USERS }, (_, i) => ({ method: 'POST', path: '/Users', data: user(`outage${i}@example.com`) }))))
    users.forEach((id, i) => numberOf.set(id, i))
    groups.push(...await bulk(Array.from({ length: GROUPS }, (_, g) => ({ method: 'POST', path: '/Groups', data: { schemas: [GROUP], displayName: `Outage ${g}`, members: members(g, 0) } }))))
    groups.forEach((id, g) => numberOf.set(id, g))
    await patchUsers({ op: 'replace', path: 'title', value: 'Engineer' })
    await advanceTo(t0 + 3 * MINUTE, 'the refused attempts')

    // Answering 503, minute 3 to 20: the third attempts (due 4 to 6 min in) are refused with or
    // without a Retry-After. Writes go on meanwhile.
    phase = '503'
    await rx.start()
    await Promise.all([(async () => {
      await deactivateAndReactivate()
      await addMembers(3)
    })(), advanceTo(t0 + 20 * MINUTE, 'the 503 answers')])
    await advanceTo(t0 + 20 * MINUTE, 'the 503 answers')

    // Taking each request and never answering, minute 20 to 60: the fourth attempts (due 28 to 51
    // min in) each run into the timeout. The last writes go on meanwhile.
    phase = 'hang'
    await Promise.all([(async () => {
      await deactivateAndReactivate()
      await addMembers(6)
    })(), advanceTo(t0 + HOUR, 'the hung attempts')])
    await advanceTo(t0 + HOUR, 'the hung attempts')

    // Healthy after the hour: the fifth attempts (2 h ±20 % after the fourth) deliver each lane's
    // head, and the events behind it follow. An attempt that runs into the timeout on a loaded
    // machine is retried on the schedule like any other: the clock moves on until none is left.
    phase = 'healthy'
    for (;;) {
      await settled('the recovery')
      if ((await q.pending()) === 0) break
      offset += Math.max(...(await q.heads()).map((h) => h.nextAttemptMs)) + 1 - clock()
    }

    // The feed, read through the API as an application reads it.
    const feed: FeedEvent[] = await drainFeed(new FeedReader(apiGet(t, () => key), t.orgId), { waitSeconds: 0 })
    expect(feed).toHaveLength((USERS + GROUPS) * EVENTS_EACH)
    const feedIndex = new Map(feed.map((e, i) => [e.id, i]))
    const feedEvent = new Map(feed.map((e) => [e.id, e]))

    // Every request at the receiver: signed, its id header the event's id, its body the event
    // exactly as the feed serves it, and the same bytes on every copy.
    expect(forged).toEqual([])
    const firstBody = new Map<string, string>()
    for (const r of rx.requests) {
      const id = String(r.headers['webhook-id'])
      const event = JSON.parse(r.body) as FeedEvent
      expect(event.id).toBe(id)
      expect(event).toEqual(feedEvent.get(id))
      const first = firstBody.get(id)
      if (first === undefined) firstBody.set(id, r.body)
      else expect(r.body, `a copy of ${id}`).toBe(first)
    }
    // Every event of the feed accepted (answered 2xx) at least once.
    const accepted = new Set(rx.accepted.map((d) => d.webhookId))
    expect(feed.filter((e) => !accepted.has(e.id)).map((e) => e.id)).toEqual([])
    // Per resource, the requests (copies included) never go back in the feed: a lane sends its next
    // event only once the one before was delivered. So the first arrivals are in feed order too.
    const byResource = new Map<string, number[]>()
    for (const r of rx.requests) {
      const id = String(r.headers['webhook-id'])
      const resource = String(feedEvent.get(id)?.data.id)
      byResource.set(resource, [...(byResource.get(resource) ?? []), feedIndex.get(id) as number])
    }
    expect(byResource.size).toBe(USERS + GROUPS)
    for (const [resource, seq] of byResource) {
      const firsts = [...new Set(seq)]
      expect(firsts, resource).toHaveLength(EVENTS_EACH)
      expect(firsts, resource).toEqual([...firsts].sort((a, b) => a - b))
      expect(seq, resource).toEqual([...seq].sort((a, b) => a - b))
    }

    // Roster's record: one delivered attempt per event, nothing given up, the endpoint enabled and recovered.
    const attempts: Attempt[] = []
    for (let cursor: string | null = null; ;) {
      const page = await apiCall(t, 'GET', `/orgs/${t.orgId}/webhooks/${endpointId}/attempts?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`, key)
      attempts.push(...(page.json.data as Attempt[]))
      cursor = page.json.nextCursor as string | null
      if (cursor === null) break
    }
    const delivered = attempts.filter((a) => a.outcome === 'delivered')
    expect(delivered).toHaveLength(feed.length)
    expect(new Set(delivered.map((a) => a.eventId)).size).toBe(feed.length)
    expect(attempts.filter((a) => a.outcome !== 'delivered' && a.outcome !== 'retrying')).toEqual([])
    expect((await apiCall(t, 'GET', `/orgs/${t.orgId}/webhooks/${endpointId}`, key)).json).toMatchObject({ enabled: true, failingSince: null })

    // Each lane's head went through the outage as scheduled: refused twice, one 503, one hung request.
    const heads = feed.filter((e) => e.type === 'user.created' || e.type === 'group.created').map((e) => e.id)
    expect(heads).toHaveLength(USERS + GROUPS)
    const refused = attempts.filter((a) => a.status === null && /ECONNREFUSED/.test(a.error ?? ''))
    expect(refused.map((a) => a.eventId).sort()).toEqual([...heads, ...heads].sort())
    const of = (p: Phase) => arrivals.filter((a) => a.phase === p)
    expect(of('503').map((a) => a.id).sort()).toEqual([...heads].sort())
    expect(of('hang').map((a) => a.id).sort()).toEqual([...heads].sort())
    // A Retry-After Roster read was honoured as the least wait before the next attempt (the
    // schedule's own least after a third failure is 24 min: 30 min less its jitter). Times of the
    // app's clock, not durations. A 503 that reached Roster after its timeout was never read.
    const got503 = new Set(attempts.filter((a) => a.status === 503).map((a) => a.eventId))
    const hungAt = new Map(of('hang').map((a) => [a.id, a.atMs]))
    const least: Record<RetryAfter, number> = { none: 24 * MINUTE, seconds: 40 * MINUTE, date: 45 * MINUTE - 1_000 }
    const read = of('503').filter((a) => got503.has(a.id))
    expect(read.length).toBeGreaterThan(0)
    for (const a of read) expect((hungAt.get(a.id) ?? 0) - a.atMs, a.retryAfter).toBeGreaterThanOrEqual(least[a.retryAfter ?? 'none'])

    const copies = rx.accepted.length - accepted.size
    console.log(`[webhooks-outage] ${base.name}: ${feed.length} events over ${byResource.size} resources; ${attempts.length} attempts (${refused.length} refused, ` +
      `${got503.size} answered 503, ${attempts.filter((a) => /timed out/.test(a.error ?? '')).length} timed out, ${delivered.length} delivered); ` +
      `${rx.requests.length} requests at the receiver, ${copies} of them accepted copies; the clock moved ${(offset / HOUR).toFixed(1)} h`)
  }, 120_000)
})
