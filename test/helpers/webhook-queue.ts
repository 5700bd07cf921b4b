// What the webhook queue of a test's database holds, read beside the app as an operator's query
// would (webhook_deliveries, docs/architecture.md "Webhook lanes, leases and heads"): the lane
// heads with when each is due and until when it is leased, and whether the fan-out has caught up
// with the feed. Tests that move the app's clock use it to move it only while nothing is in flight
// (a jump past a lease would let the lane be claimed again while its request runs, which a real
// clock never does).
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'

export interface Head {
  readonly id: string
  readonly endpointId: string
  readonly lane: string
  readonly nextAttemptMs: number
  readonly leaseUntilMs: number
  readonly attempts: number
}

export interface QueueReader {
  /** Every lane head of every endpoint. */
  heads(): Promise<Head[]>
  /** Events of `orgId` not yet fanned out to endpoint `endpointId` (PostgreSQL: also those not yet stamped with a position). */
  unfanned(orgId: string, endpointId: string): Promise<number>
  /** Pending deliveries (heads and the rows behind them). */
  pending(): Promise<number>
  /** Pending deliveries a worker holds a lease on (in flight, or taken along behind a head that is). */
  leased(): Promise<number>
  close(): Promise<void>
}

const HEADS = 'select id, endpoint_id, lane, next_attempt_ms, lease_until_ms, attempts from webhook_deliveries where is_head = 1'
const UNFANNED = `select count(*) as n from events e where e.org_id = $1 and (e.position is null
  or e.position > (select w.cursor from webhook_endpoints w where w.org_id = $1 and w.id = $2))`
const PENDING = 'select count(*) as n from webhook_deliveries'
const LEASED = 'select count(*) as n from webhook_deliveries where lease_owner is not null'

interface HeadRecord { id: string; endpoint_id: string; lane: string; next_attempt_ms: number | string; lease_until_ms: number | string; attempts: number | string }

const toHead = (r: HeadRecord): Head => ({
  id: r.id, endpointId: r.endpoint_id, lane: r.lane, nextAttemptMs: Number(r.next_attempt_ms), leaseUntilMs: Number(r.lease_until_ms), attempts: Number(r.attempts),
})

/** A reader of the queue of the database at `url` (`sqlite:PATH` or a PostgreSQL URL). */
export async function openQueue(url: string): Promise<QueueReader> {
  if (url.startsWith('sqlite:')) {
    const db = new BetterSqlite3(url.slice('sqlite:'.length), { readonly: true })
    const heads = db.prepare(HEADS)
    const unfanned = db.prepare(UNFANNED.replaceAll('$1', '@org').replaceAll('$2', '@ep'))
    const pending = db.prepare(PENDING)
    const leased = db.prepare(LEASED)
    return {
      heads: async () => (heads.all() as HeadRecord[]).map(toHead),
      unfanned: async (orgId, endpointId) => Number((unfanned.get({ org: orgId, ep: endpointId }) as { n: number }).n),
      pending: async () => Number((pending.get() as { n: number }).n),
      leased: async () => Number((leased.get() as { n: number }).n),
      close: async () => {
        db.close()
      },
    }
  }
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  return {
    heads: async () => (await c.query<HeadRecord>(HEADS)).rows.map(toHead),
    unfanned: async (orgId, endpointId) => Number((await c.query<{ n: string }>(UNFANNED, [orgId, endpointId])).rows[0]?.n ?? 0),
    pending: async () => Number((await c.query<{ n: string }>(PENDING)).rows[0]?.n ?? 0),
    leased: async () => Number((await c.query<{ n: string }>(LEASED)).rows[0]?.n ?? 0),
    close: () => c.end(),
  }
}
