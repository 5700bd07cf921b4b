// Webhook endpoints, deliveries and attempts over the store's driver (store/webhook-store.ts).
// A lane is one endpoint's deliveries of one resource; its `is_head` row is the only one that
// may be claimed, so a lane is delivered in order, and lanes go out in parallel. On PostgreSQL
// the endpoint's row lock orders a fan-out (which decides whether a new delivery heads its lane)
// against a completion (which hands the head to the lane's next delivery); SQLite's single
// writer orders them already. Claims take `FOR UPDATE SKIP LOCKED` on PostgreSQL, and every
// lease expires, so any number of workers share the work and a killed one stalls nothing.
import { sql, type RawBuilder } from 'kysely'
import type { NewEvent, OrgId } from '../store.ts'
import type {
  AttemptRow, DeliveryJob, DeliveryResult, NewWebhookEndpoint, WebhookEndpointChange, WebhookEndpointRow, WebhookSecret, WebhookStore,
} from '../webhook-store.ts'
import { chunks } from './conn-helpers.ts'
import type { Conn } from './prepared.ts'
import type { WebhookAttemptsTable, WebhookEndpointsTable } from './schema.ts'
import { RawQueries } from './raw-queries.ts'
import type { StoreDriver } from './store-driver.ts'

/** Rows per multi-row insert (11 or 12 parameters each: well under both databases' limits). */
const INSERT_CHUNK = 500

interface JobRecord {
  id: string; org_id: string; endpoint_id: string; position: number | string; event_offset: number | string; event_until: number | string; lane: string
  attempts: number | string; first_failure_ms: number | string | null
  e_id: string | null; e_count: number | string | null; e_type: string | null; e_resource_id: string | null; e_at: string | null; payload: string | null; members: string | null
  url: string; secrets: string; failing_since: string | null
}

interface ClaimRequest { owner: string; nowMs: number; leaseMs: number; limit: number; followers: number; perEndpoint: number; busy: readonly (readonly [string, number])[] }
interface EventRef { position: number | string; count: number | string; type: string; lane: string }
interface Enqueued { position: number | string; offset: number; until: number; lane: string }

/** Lanes due at once at or below which each claimed lane takes its followers along. */
const FOLLOWER_LANES = 64

function toJob(r: JobRecord, secrets: readonly WebhookSecret[]): DeliveryJob {
  const position = Number(r.position)
  return {
    id: r.id, orgId: r.org_id as OrgId, endpointId: r.endpoint_id, position, offset: Number(r.event_offset), until: Number(r.event_until),
    lane: r.lane, attempts: Number(r.attempts), firstFailureMs: r.first_failure_ms === null ? null : Number(r.first_failure_ms),
    // An event row pruned before its delivery (an endpoint disabled past the retention) is gone.
    events: r.e_id === null || r.payload === null ? null : {
      position, count: Number(r.e_count), id: r.e_id, type: r.e_type ?? '', resourceId: r.e_resource_id ?? '', lane: r.lane, at: r.e_at ?? '', payload: r.payload, members: r.members,
    },
    url: r.url, secrets, failingSince: r.failing_since,
  }
}

function toEndpoint(r: WebhookEndpointsTable): WebhookEndpointRow {
  return {
    orgId: r.org_id as OrgId, id: r.id, url: r.url, description: r.description, eventTypes: JSON.parse(r.event_types) as string[],
    enabled: Number(r.enabled) === 1, secrets: JSON.parse(r.secrets) as WebhookSecret[], cursor: Number(r.cursor),
    createdAt: r.created_at, updatedAt: r.updated_at, failingSince: r.failing_since, disabledReason: r.disabled_reason,
  }
}

function toAttempt(r: WebhookAttemptsTable): AttemptRow {
  return {
    id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.event_type, at: r.at, status: r.status === null ? null : Number(r.status),
    durationMs: Number(r.duration_ms), outcome: r.outcome as AttemptRow['outcome'], excerpt: r.excerpt, error: r.error,
  }
}

/**
 * The store's outbox, for the one event a webhook transaction writes (an endpoint's disabling,
 * docs/architecture.md EVT-8): `insert` writes events on the transaction's connection as a
 * change's transaction does (write-tx.ts insertEvents), `committed` tells the store once the
 * transaction has committed (PostgreSQL's stamper, the feed's long polls, the fan-out).
 */
export interface WebhookOutbox {
  insert(conn: Conn, orgId: OrgId, events: readonly NewEvent[]): Promise<void>
  committed(): void
}

/** The type of the notice an endpoint is never given (events/build.ts endpointDisabled). */
const OWN_NOTICE = 'webhook.endpoint_disabled'

/** Whether a feed row goes to endpoint `endpointId` of these types: any of its types, never the notice of its own disabling. */
function wantedBy(endpointId: string, types: readonly string[]): (e: EventRef) => boolean {
  return (e) => (types.length === 0 || types.includes(e.type)) && !(e.type === OWN_NOTICE && e.lane === endpointId)
}

export class KyselyWebhooks implements WebhookStore {
  readonly #d: StoreDriver
  /** Not list data: its transactions keep list caches valid (raw-queries.ts). */
  readonly #q: RawQueries
  readonly #outbox: WebhookOutbox

  constructor(driver: StoreDriver, outbox: WebhookOutbox) {
    this.#d = driver
    this.#q = new RawQueries(driver)
    this.#outbox = outbox
  }


  async createEndpoint(e: NewWebhookEndpoint): Promise<WebhookEndpointRow> {
    return this.#q.tx(async (conn) => {
      await this.#q.holdOrg(conn, e.orgId)
      // Only events from now on: the newest position now is where the endpoint's feed starts.
      const [b] = await this.#q.all<{ newest: number | string | null }>(conn, sql`select max(position) as newest from events where org_id = ${e.orgId} and position is not null`)
      const cursor = Number(b?.newest ?? 0)
      await this.#q.run(conn, sql`insert into webhook_endpoints (org_id, id, url, description, event_types, enabled, secrets, cursor, created_at, updated_at, failing_since, disabled_reason)
        values (${e.orgId}, ${e.id}, ${e.url}, ${e.description}, ${JSON.stringify(e.eventTypes)}, 1, ${JSON.stringify([{ secret: e.secret, expiresAt: null }])}, ${cursor}, ${e.now}, ${e.now}, null, null)`)
      const [row] = await this.#q.all<WebhookEndpointsTable>(conn, sql`select * from webhook_endpoints where org_id = ${e.orgId} and id = ${e.id}`)
      return toEndpoint(row as WebhookEndpointsTable)
    })
  }

  async getEndpoint(orgId: OrgId, id: string): Promise<WebhookEndpointRow | null> {
    const [row] = await this.#q.read<WebhookEndpointsTable>(sql`select * from webhook_endpoints where org_id = ${orgId} and id = ${id}`)
    return row ? toEndpoint(row) : null
  }

  async listEndpoints(orgId: OrgId): Promise<readonly WebhookEndpointRow[]> {
    return (await this.#q.read<WebhookEndpointsTable>(sql`select * from webhook_endpoints where org_id = ${orgId} order by created_at, id`)).map(toEndpoint)
  }

  updateEndpoint(orgId: OrgId, id: string, c: WebhookEndpointChange): Promise<WebhookEndpointRow | null> {
    return this.#q.tx(async (conn) => {
      const sets: RawBuilder<unknown>[] = [sql`updated_at = ${c.now}`]
      if (c.url !== undefined) sets.push(sql`url = ${c.url}`)
      if (c.description !== undefined) sets.push(sql`description = ${c.description}`)
      if (c.eventTypes !== undefined) sets.push(sql`event_types = ${JSON.stringify(c.eventTypes)}`)
      if (c.secrets !== undefined) {
        const cur = await this.#holdEndpoint(conn, orgId, id)
        if (!cur) return null
        sets.push(sql`secrets = ${JSON.stringify(c.secrets(JSON.parse(cur.secrets) as WebhookSecret[]))}`)
      }
      if (c.enabled === true) sets.push(sql`enabled = 1, failing_since = null, disabled_reason = null`)
      if (c.enabled === false) sets.push(sql`enabled = 0, disabled_reason = ${'disabled through the API'}`)
      const n = await this.#q.run(conn, sql`update webhook_endpoints set ${sql.join(sets)} where org_id = ${orgId} and id = ${id}`)
      if (n === 0) return null
      const [row] = await this.#q.all<WebhookEndpointsTable>(conn, sql`select * from webhook_endpoints where org_id = ${orgId} and id = ${id}`)
      return row ? toEndpoint(row) : null
    })
  }

  deleteEndpoint(orgId: OrgId, id: string): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      const n = await this.#q.run(conn, sql`delete from webhook_endpoints where org_id = ${orgId} and id = ${id}`)
      await this.#q.run(conn, sql`delete from webhook_deliveries where org_id = ${orgId} and endpoint_id = ${id}`)
      await this.#q.run(conn, sql`delete from webhook_attempts where org_id = ${orgId} and endpoint_id = ${id}`)
      return n > 0
    })
  }

  /**
   * The endpoint's row, held until the transaction ends (PostgreSQL: FOR UPDATE; SQLite's single
   * writer holds everything already). Whatever decides a lane's head, or writes deliveries, or
   * rewrites the endpoint from what it read, holds it first.
   */
  async #holdEndpoint(conn: Conn, orgId: string, id: string): Promise<WebhookEndpointsTable | undefined> {
    const [ep] = await this.#q.all<WebhookEndpointsTable>(conn, sql`select * from webhook_endpoints where org_id = ${orgId} and id = ${id}${this.#q.pg ? sql` for update` : sql``}`)
    return ep
  }

  async fanOut(newId: () => string, nowMs: number, limit: number): Promise<number> {
    // A read first: with nothing new, no write transaction at all.
    const behind = await this.#q.read<{ id: string }>(sql`select w.id from webhook_endpoints w where w.enabled = 1
      and exists (select 1 from events e where e.org_id = w.org_id and e.position > w.cursor) limit 1`)
    if (behind.length === 0) return 0
    return this.#q.tx(async (conn) => {
      const endpoints = await this.#q.all<WebhookEndpointsTable>(conn, sql`select * from webhook_endpoints where enabled = 1 ${this.#q.pg ? sql`for update skip locked` : sql``}`)
      let created = 0
      for (const ep of endpoints) {
        const events = await this.#q.all<EventRef>(conn,
          sql`select position, count, type, lane from events where org_id = ${ep.org_id} and position > ${ep.cursor} order by position limit ${limit}`)
        const last = events[events.length - 1]
        if (!last) continue
        const wanted = events.filter(wantedBy(ep.id, JSON.parse(ep.event_types) as string[]))
        created += await this.#enqueue(conn, ep.org_id, ep.id, wanted.map((e) => ({ ...e, offset: 0, until: Number(e.count) })), newId, nowMs)
        await this.#q.run(conn, sql`update webhook_endpoints set cursor = ${last.position} where org_id = ${ep.org_id} and id = ${ep.id}`)
      }
      return created
    })
  }

  /** Inserts deliveries in position order; each becomes its lane's head if the lane has none. */
  async #enqueue(conn: Conn, orgId: string, endpointId: string, events: readonly Enqueued[], newId: () => string, nowMs: number): Promise<number> {
    if (events.length === 0) return 0
    const lanes = [...new Set(events.map((e) => e.lane))]
    const busy = new Set<string>()
    for (const part of chunks(lanes)) {
      const rows = await this.#q.all<{ lane: string }>(conn, sql`select distinct lane from webhook_deliveries where endpoint_id = ${endpointId}
        and ${this.#d.sql.inIds(sql.ref('lane'), sql`${this.#d.sql.ids(part)}`)}`)
      for (const r of rows) busy.add(r.lane)
    }
    for (const part of chunks(events, INSERT_CHUNK)) {
      const values = part.map((e) => {
        const head = busy.has(e.lane) ? 0 : 1
        busy.add(e.lane)
        return sql`(${newId()}, ${orgId}, ${endpointId}, ${e.position}, ${e.offset}, ${e.until}, ${e.lane}, 0, null, ${nowMs}, 0, null, ${head})`
      })
      await this.#q.run(conn, sql`insert into webhook_deliveries (id, org_id, endpoint_id, position, event_offset, event_until, lane, attempts, first_failure_ms,
        next_attempt_ms, lease_until_ms, lease_owner, is_head) values ${sql.join(values)}`)
    }
    return events.reduce((n, e) => n + e.until - e.offset, 0)
  }

  async complete(results: readonly DeliveryResult[], now: string, owner: string): Promise<void> {
    if (results.length === 0) return
    if (await this.#q.tx((conn) => this.#complete(conn, results, now, owner))) this.#outbox.committed()
  }

  async completeAndClaim(results: readonly DeliveryResult[], now: string, claim: ClaimRequest): Promise<readonly (readonly DeliveryJob[])[]> {
    let notices = false
    const lanes = await this.#q.tx(async (conn) => {
      notices = results.length > 0 && await this.#complete(conn, results, now, claim.owner)
      return claim.limit > 0 ? this.#claim(conn, claim) : []
    })
    if (notices) this.#outbox.committed()
    return lanes
  }

  /**
   * Due lane heads, shared out among endpoints: each endpoint's first due heads, ranked within it
   * by due time, taken in order of rank plus the endpoint's lanes already in flight in this
   * process (so each endpoint gets a lane before any gets another), never more than `perEndpoint`
   * in flight for one endpoint. One endpoint's backlog (a slow receiver's above all) then cannot
   * take every slot. The endpoints with lane heads are found by a loose scan of
   * webhook_deliveries_endpoint_due (one index probe an endpoint, migration 0016) and each one's
   * heads read from it, so a claim reads what it may take, never a whole backlog. The chosen rows
   * are locked after (the lock re-checks each; a row another worker holds is skipped).
   */
  async #claim(conn: Conn, c: ClaimRequest): Promise<DeliveryJob[][]> {
    const endpoints = await this.#q.all<{ id: string }>(conn, sql`with recursive e(id) as (
        select min(endpoint_id) from webhook_deliveries where is_head = 1
        union all
        select (select min(d.endpoint_id) from webhook_deliveries d where d.is_head = 1 and d.endpoint_id > e.id) from e where e.id is not null)
      select e.id from e where e.id is not null and exists (select 1 from webhook_endpoints w where w.id = e.id and w.enabled = 1)`)
    const busy = new Map(c.busy)
    const ranked: { id: string; key: number; due: number }[] = []
    for (const { id: endpointId } of endpoints) {
      const room = Math.min(c.perEndpoint - (busy.get(endpointId) ?? 0), c.limit)
      if (room <= 0) continue
      const heads = await this.#q.all<{ id: string; next_attempt_ms: number | string }>(conn, sql`select d.id, d.next_attempt_ms from webhook_deliveries d
        where d.endpoint_id = ${endpointId} and d.is_head = 1 and d.next_attempt_ms <= ${c.nowMs} and d.lease_until_ms < ${c.nowMs}
        order by d.next_attempt_ms, d.id limit ${room}`)
      heads.forEach((h, i) => ranked.push({ id: h.id, key: (busy.get(endpointId) ?? 0) + i + 1, due: Number(h.next_attempt_ms) }))
    }
    const chosen = ranked.sort((a, b) => a.key - b.key || a.due - b.due || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, c.limit)
    if (chosen.length === 0) return []
    const order = new Map(chosen.map((r, i) => [r.id, i]))
    const heads = (await this.#q.all<JobRecord>(conn, sql`${this.#jobSelect()}
      where ${this.#d.sql.inIds(sql.ref('d.id'), sql`${this.#d.sql.ids(chosen.map((r) => r.id))}`)}
        and d.is_head = 1 and d.next_attempt_ms <= ${c.nowMs} and d.lease_until_ms < ${c.nowMs} and w.enabled = 1
      ${this.#q.pg ? sql`for update of d skip locked` : sql``}`))
      .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    if (heads.length === 0) return []
    const lanes: JobRecord[][] = heads.map((h) => [h])
    // Few lanes due: each takes its next deliveries along (only a head is ever claimed, so nobody else can).
    if (c.followers > 0 && heads.length <= FOLLOWER_LANES) {
      for (const lane of lanes) {
        const h = lane[0] as JobRecord
        lane.push(...await this.#q.all<JobRecord>(conn, sql`${this.#jobSelect()}
          where d.endpoint_id = ${h.endpoint_id} and d.lane = ${h.lane} and d.position > ${h.position} and d.is_head = 0
          order by d.position limit ${c.followers}`))
      }
    }
    for (const part of chunks(lanes.flat().map((r) => r.id))) {
      await this.#q.run(conn, sql`update webhook_deliveries set lease_until_ms = ${c.nowMs + c.leaseMs}, lease_owner = ${c.owner}
        where ${this.#d.sql.inIds(sql.ref('id'), sql`${this.#d.sql.ids(part)}`)}`)
    }
    // An endpoint's secrets parsed once a claim, not once a delivery.
    const secrets = new Map<string, readonly WebhookSecret[]>()
    const secretsOf = (r: JobRecord) => {
      let known = secrets.get(r.secrets)
      if (!known) secrets.set(r.secrets, known = JSON.parse(r.secrets) as WebhookSecret[])
      return known
    }
    return lanes.map((lane) => lane.map((r) => toJob(r, secretsOf(r))))
  }

  #jobSelect(): RawBuilder<unknown> {
    return sql`select d.id, d.org_id, d.endpoint_id, d.position, d.event_offset, d.event_until, d.lane, d.attempts, d.first_failure_ms,
        e.id as e_id, e.count as e_count, e.type as e_type, e.resource_id as e_resource_id, e.at as e_at, e.payload, e.members,
        w.url, w.secrets, w.failing_since
      from webhook_deliveries d
      join webhook_endpoints w on w.org_id = d.org_id and w.id = d.endpoint_id
      left join events e on e.org_id = d.org_id and e.position = d.position`
  }

  /**
   * Records a batch of attempts: each delivery's results in order decide where it ends (done, or
   * waiting at an event with its attempts), and a done delivery hands its lane to the next one.
   * Statements are per batch, not per attempt: most batches are many single-event lanes.
   * Returns whether it wrote an event (an endpoint's disabling notice).
   */
  async #complete(conn: Conn, results: readonly DeliveryResult[], now: string, owner: string): Promise<boolean> {
    let notices = false
    // PostgreSQL: the lock orders this hand-over of lane heads against a concurrent fan-out. On
    // both, an endpoint removed meanwhile (or its organization deleted: provisioning/org-delete.ts)
    // gets no attempt rows: its deliveries are gone with it.
    const keys = [...new Set(results.map((r) => `${r.job.orgId}\u0000${r.job.endpointId}`))].sort()
    const live = new Set<string>()
    for (const k of keys) {
      const [orgId, id] = k.split('\u0000') as [string, string]
      if (await this.#holdEndpoint(conn, orgId, id)) live.add(k)
    }
    // A batch recorded once already (its COMMIT went through but the answer was lost, so the
    // dispatcher queued its results again) records nothing twice: the attempts' ids are the
    // results' own, and every other statement below leaves a row as the first run left it.
    const attempted = results.flatMap((r) => (r.kind === 'release' || !live.has(`${r.job.orgId}\u0000${r.job.endpointId}`) ? [] : [r]))
    for (const part of chunks(attempted, INSERT_CHUNK)) {
      await this.#q.run(conn, sql`insert into webhook_attempts (org_id, endpoint_id, id, event_id, event_type, at, status, duration_ms, outcome, excerpt, error)
        values ${sql.join(part.map(({ job, attempt: a }) => sql`(${job.orgId}, ${job.endpointId}, ${a.id}, ${a.eventId}, ${a.eventType}, ${a.at}, ${a.status},
          ${a.durationMs}, ${a.outcome}, ${a.excerpt}, ${a.error})`))}
        on conflict do nothing`)
    }
    // Endpoints a result of this batch delivered to: a failing streak ends here.
    const delivering = new Set(attempted.filter((r) => r.kind === 'delivered').map((r) => `${r.job.orgId}\u0000${r.job.endpointId}`))
    // Each delivery's last result decides it (results of one delivery arrive in event order).
    const last = new Map<string, DeliveryResult>()
    for (const r of results) last.set(r.job.id, r)
    const done: DeliveryResult[] = []
    const recovered = new Map<string, DeliveryJob>()
    const failing = new Map<string, DeliveryJob>()
    for (const r of last.values()) {
      const { job, index } = r
      if (r.kind === 'delivered' || r.kind === 'failed') {
        if (index + 1 >= job.until) done.push(r)
        // The row's next event is due now, its own attempts from nothing.
        else await this.#q.run(conn, sql`update webhook_deliveries set event_offset = ${index + 1}, attempts = 0, first_failure_ms = null where id = ${job.id}`)
      } else if (r.kind === 'retry') {
        await this.#q.run(conn, sql`update webhook_deliveries set event_offset = ${index}, attempts = ${index === job.offset ? job.attempts + 1 : 1},
          first_failure_ms = ${r.firstFailureMs}, next_attempt_ms = ${r.nextAttemptMs}, lease_until_ms = 0, lease_owner = null where id = ${job.id} and lease_owner = ${owner}`)
      } else if (r.kind === 'release') {
        // Past the job's offset, the events before `index` were delivered: the one at `index` has no failures yet.
        const fresh = index > job.offset ? sql`, attempts = 0, first_failure_ms = null` : sql``
        await this.#q.run(conn, sql`update webhook_deliveries set event_offset = ${index}, lease_until_ms = 0, lease_owner = null${fresh} where id = ${job.id} and lease_owner = ${owner}`)
      } else {
        await this.#q.run(conn, sql`update webhook_deliveries set event_offset = ${index}, lease_until_ms = 0, lease_owner = null where id = ${job.id} and lease_owner = ${owner}`)
        // Five days of failures: only while that streak still runs (not ended by a delivery of
        // this batch, nor by one recorded since the decision was made).
        // Otherwise the delivery stays due, and its attempt is recorded as one to retry.
        const streak = r.failingSince === null ? sql`` : sql` and failing_since = ${r.failingSince}`
        const ended = r.failingSince !== null && delivering.has(`${job.orgId}\u0000${job.endpointId}`)
        const disable = (only: RawBuilder<unknown>) => this.#q.run(conn, sql`update webhook_endpoints set enabled = 0, disabled_reason = ${r.reason}, updated_at = ${now}
          where org_id = ${job.orgId} and id = ${job.endpointId}${streak}${only}`)
        // The notice goes with the change from enabled to disabled only: a result recorded twice,
        // or one for an endpoint an admin disabled meanwhile, writes none (EVT-8).
        const turned = !ended && (await disable(sql` and enabled = 1`)) > 0
        if (turned) {
          await this.#outbox.insert(conn, job.orgId, [r.notice])
          notices = true
        }
        const disabled = turned || (!ended && (await disable(sql``)) > 0)
        if (!disabled && live.has(`${job.orgId}\u0000${job.endpointId}`)) {
          await this.#q.run(conn, sql`update webhook_attempts set outcome = 'retrying' where org_id = ${job.orgId} and endpoint_id = ${job.endpointId} and id = ${r.attempt.id}`)
        }
      }
    }
    for (const r of attempted) (r.kind === 'delivered' ? recovered : failing).set(`${r.job.orgId}\u0000${r.job.endpointId}`, r.job)
    for (const part of chunks(done)) {
      await this.#q.run(conn, sql`delete from webhook_deliveries where ${this.#d.sql.inIds(sql.ref('id'), sql`${this.#d.sql.ids(part.map((r) => r.job.id))}`)}`)
      // The lanes' next deliveries become their heads (a single-event lane has none).
      const lanes = [...new Map(part.map((r) => [`${r.job.endpointId}\u0000${r.job.lane}`, { e: r.job.endpointId, l: r.job.lane }])).values()]
      await this.#q.run(conn, sql`update webhook_deliveries set is_head = 1 where id in (select (select x.id from webhook_deliveries x
          where x.endpoint_id = l.e and x.lane = l.l order by x.position, x.event_offset limit 1)
        from ${this.#d.sql.recordSource(sql`${this.#d.sql.records(lanes)}`, [['e', 'text'], ['l', 'text']], 'l')})`)
    }
    for (const [k, job] of recovered) {
      if (failing.has(k)) continue
      await this.#q.run(conn, sql`update webhook_endpoints set failing_since = null where org_id = ${job.orgId} and id = ${job.endpointId} and failing_since is not null`)
    }
    for (const job of failing.values()) {
      await this.#q.run(conn, sql`update webhook_endpoints set failing_since = ${now} where org_id = ${job.orgId} and id = ${job.endpointId} and failing_since is null`)
    }
    return notices
  }

  async hasDue(nowMs: number): Promise<boolean> {
    const rows = await this.#q.read<{ id: string }>(sql`select d.id from webhook_deliveries d
      where d.is_head = 1 and d.next_attempt_ms <= ${nowMs} and d.lease_until_ms < ${nowMs} limit 1`)
    return rows.length > 0
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.#q.tx((conn) => this.#q.run(conn, sql`update webhook_deliveries set lease_until_ms = 0, lease_owner = null where lease_owner = ${owner}`))
  }

  async listAttempts(orgId: OrgId, endpointId: string, before: string | null, limit: number): Promise<readonly AttemptRow[]> {
    const older = before === null ? sql`` : sql`and id < ${before}`
    return (await this.#q.read<WebhookAttemptsTable>(sql`select * from webhook_attempts where org_id = ${orgId} and endpoint_id = ${endpointId} ${older}
      order by id desc limit ${limit}`)).map(toAttempt)
  }

  redeliver(orgId: OrgId, endpointId: string, rowId: string, index: number, newId: () => string, nowMs: number): Promise<boolean> {
    return this.#q.tx(async (conn) => {
      // The endpoint held, as a fan-out and a replay hold it. Without it a completion could hand
      // the lane's head on (finding no next delivery) between this transaction's look at the lane
      // (busy: its delivery is queued behind the head) and its commit: a delivery left behind no
      // head, never sent.
      if (!(await this.#holdEndpoint(conn, orgId, endpointId))) return false
      const [row] = await this.#q.all<EventRef>(conn,
        sql`select position, count, type, lane from events where org_id = ${orgId} and id = ${rowId} and position is not null`)
      if (!row || index >= Number(row.count)) return false
      return (await this.#enqueue(conn, orgId, endpointId, [{ ...row, offset: index, until: index + 1 }], newId, nowMs)) > 0
    })
  }

  replay(orgId: OrgId, endpointId: string, afterPosition: number, newId: () => string, nowMs: number): Promise<number> {
    return this.#q.tx(async (conn) => {
      const ep = await this.#holdEndpoint(conn, orgId, endpointId)
      if (!ep) return 0
      // Up to the endpoint's cursor (later rows reach it by the fan-out anyway), from the row holding `afterPosition`.
      const rows = (await this.#q.all<EventRef>(conn,
        sql`select position, count, type, lane from events where org_id = ${orgId} and position + count - 1 > ${afterPosition} and position <= ${ep.cursor} order by position`))
        .filter(wantedBy(ep.id, JSON.parse(ep.event_types) as string[]))
      return this.#enqueue(conn, orgId, endpointId, rows.map((e) => ({ ...e, offset: Math.max(0, afterPosition + 1 - Number(e.position)), until: Number(e.count) })), newId, nowMs)
    })
  }
}
