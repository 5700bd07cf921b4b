// Invitations over the store's driver (store/invitation-store.ts, migration 0008). The mailer's
// side (fan-out from the feed, claims, expiries) runs its own transactions, like webhook
// deliveries: they change no user, group or membership, so list caches stay valid. A claim
// takes `FOR UPDATE SKIP LOCKED` on PostgreSQL and every lease expires, so any number of
// mailers share the queue and a killed one stalls nothing; the fan-out holds the cursor's row,
// so two mailers never queue the same events. The request side (accept, resend, revoke, and the
// outcome of a send, which writes an event) runs inside a write transaction: KyselyInvitationTx,
// over fixed statements compiled once per store.
import { sql, type Kysely } from 'kysely'
import type {
  ArmedInvitation, Claim, FanOut, FanOutResult, FeedRef, InvitationRow, InvitationStatus, InvitationStore, InvitationTx,
} from '../invitation-store.ts'
import type { OrgId, ResourceId } from '../store.ts'
import { all, run } from './conn-helpers.ts'
import { arg, prepare, type Conn } from './prepared.ts'
import { toUserRow, type ResourceRecord } from './rows.ts'
import type { Database, InvitationsTable } from './schema.ts'
import { RawQueries } from './raw-queries.ts'
import type { StoreDriver } from './store-driver.ts'

/** The worker_cursors row of the mailer (created by migration 0008 at the newest position). */
const CURSOR = 'mailer'
/** The window of the per-organization cap on invitation emails. */
const HOUR_MS = 3_600_000
/** The advisory lock claims under a cap take in turn on PostgreSQL. */
const CAP_LOCK = 'roster invitation claims'
/** Reads of due rows one claim makes at most, each after passing over organizations at the cap. */
const CAP_ROUNDS = 8

function toInvitation(r: InvitationsTable): InvitationRow {
  return {
    orgId: r.org_id as OrgId, id: r.id, userId: r.user_id, status: r.status as InvitationStatus, email: r.email, createdAt: r.created_at,
    sentAt: r.sent_at, expiresAt: r.expires_at, endedAt: r.ended_at, attempts: Number(r.attempts), nextAttemptMs: Number(r.next_attempt_ms),
    lastError: r.last_error, firstFailureMs: r.first_failure_ms === null ? null : Number(r.first_failure_ms),
  }
}

/** The statements of InvitationTx, compiled once per store. */
export function invitationStatements(b: Kysely<Database>, lockRows: boolean) {
  const lock = <Q extends { forUpdate(): Q }>(q: Q): Q => (lockRows ? q.forUpdate() : q)
  const inv = b.updateTable('invitations')
  const armed = (q: typeof inv) => q.where('org_id', '=', arg(0)).where('id', '=', arg(1)).where('status', '=', 'queued').where('token_hash', '=', arg(2))
  return {
    invitationByHash: prepare(lock(b.selectFrom('invitations').selectAll().where('token_hash', '=', arg(0)))),
    invitationByOrgHash: prepare(lock(b.selectFrom('invitations').selectAll().where('org_id', '=', arg(0)).where('token_hash', '=', arg(1)))),
    invitationLatest: prepare(lock(b.selectFrom('invitations').selectAll().where('org_id', '=', arg(0)).where('user_id', '=', arg(1))
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1))),
    invitationQueue: prepare(b.insertInto('invitations').values({
      org_id: arg(0), id: arg(1), user_id: arg(2), status: 'queued', created_at: arg(3), attempts: 0, next_attempt_ms: arg(4), lease_until_ms: 0,
    })),
    invitationRevokeOpen: prepare(inv.set({ status: 'revoked', ended_at: arg(2), lease_until_ms: 0 })
      .where('org_id', '=', arg(0)).where('user_id', '=', arg(1)).where('status', 'in', ['queued', 'sent'])),
    invitationEnd: prepare(inv.set({ status: arg(3), ended_at: arg(2) }).where('org_id', '=', arg(0)).where('id', '=', arg(1)).where('status', '=', 'sent')),
    invitationSent: prepare(armed(inv.set({ status: 'sent', sent_at: arg(3), lease_until_ms: 0, last_error: null }))),
    invitationRetry: prepare(armed(inv.set((eb) => ({
      next_attempt_ms: arg(3), last_error: arg(4), lease_until_ms: 0, token_hash: null, expires_at: null,
      first_failure_ms: eb.fn.coalesce('first_failure_ms', eb.val(arg(5))),
    })))),
    invitationFailed: prepare(armed(inv.set({ status: 'failed', ended_at: arg(3), last_error: arg(4), lease_until_ms: 0, token_hash: null, expires_at: null }))),
  }
}
export type InvitationStatements = ReturnType<typeof invitationStatements>

export class KyselyInvitationTx implements InvitationTx {
  readonly #c: Conn
  readonly #st: InvitationStatements

  constructor(conn: Conn, st: InvitationStatements) {
    this.#c = conn
    this.#st = st
  }

  async byTokenHash(hash: string, orgId: OrgId | null): Promise<InvitationRow | null> {
    const [r] = orgId === null
      ? await all<InvitationsTable>(this.#c, this.#st.invitationByHash, [hash])
      : await all<InvitationsTable>(this.#c, this.#st.invitationByOrgHash, [orgId, hash])
    return r ? toInvitation(r) : null
  }

  async latest(orgId: OrgId, userId: ResourceId): Promise<InvitationRow | null> {
    const [r] = await all<InvitationsTable>(this.#c, this.#st.invitationLatest, [orgId, userId])
    return r ? toInvitation(r) : null
  }

  async queue(orgId: OrgId, i: { id: string; userId: ResourceId; now: string; nowMs: number }): Promise<void> {
    await run(this.#c, this.#st.invitationQueue, [orgId, i.id, i.userId, i.now, i.nowMs])
  }

  revokeOpen(orgId: OrgId, userId: ResourceId, now: string): Promise<number> {
    return run(this.#c, this.#st.invitationRevokeOpen, [orgId, userId, now])
  }

  async accept(orgId: OrgId, id: string, now: string): Promise<boolean> {
    return (await run(this.#c, this.#st.invitationEnd, [orgId, id, now, 'accepted'])) === 1
  }

  async expire(orgId: OrgId, id: string, now: string): Promise<boolean> {
    return (await run(this.#c, this.#st.invitationEnd, [orgId, id, now, 'expired'])) === 1
  }

  async markSent(orgId: OrgId, id: string, tokenHash: string, now: string): Promise<boolean> {
    return (await run(this.#c, this.#st.invitationSent, [orgId, id, tokenHash, now])) === 1
  }

  async markRetry(orgId: OrgId, id: string, tokenHash: string, nextAttemptMs: number, error: string, failedAtMs: number): Promise<boolean> {
    return (await run(this.#c, this.#st.invitationRetry, [orgId, id, tokenHash, nextAttemptMs, error, failedAtMs])) === 1
  }

  async markFailed(orgId: OrgId, id: string, tokenHash: string, now: string, error: string): Promise<boolean> {
    return (await run(this.#c, this.#st.invitationFailed, [orgId, id, tokenHash, now, error])) === 1
  }
}

/** A page's end and event count, and one of its rows of the types asked for (all null when none is). */
interface FeedPageRecord {
  hi: number | string | null; n: number | string
  position: number | string | null; org_id: string | null; type: string | null; resource_id: string | null; state: string | null
}

/** A claimed row: the invitation, its organization's name, and the user's columns (null when deleted). */
interface ClaimRecord extends InvitationsTable {
  org_name: string
  u_id: string | null; u_version: number | string | null; u_created_at: string | null; u_updated_at: string | null; u_data: unknown
  u_managed_by: string | null; u_identity_provider: string | null; u_custom_attributes: string | null; u_pending: number | string | null; u_metadata: string | null
}

function claimedUser(r: ClaimRecord) {
  if (r.u_id === null) return null
  const record: ResourceRecord = {
    id: r.u_id, version: r.u_version ?? 1, created_at: r.u_created_at ?? '', updated_at: r.u_updated_at ?? '', data: r.u_data,
    managed_by: r.u_managed_by ?? 'scim', identity_provider: r.u_identity_provider, custom_attributes: r.u_custom_attributes,
    pending: r.u_pending ?? 0, metadata: r.u_metadata,
  }
  return toUserRow(record)
}

export class KyselyInvitations implements InvitationStore {
  readonly #d: StoreDriver
  /** Not list data: its transactions keep list caches valid (raw-queries.ts). */
  readonly #q: RawQueries

  constructor(driver: StoreDriver) {
    this.#d = driver
    this.#q = new RawQueries(driver)
  }


  async #storedCursor(conn: Conn, inTx: boolean): Promise<number> {
    const [c] = await this.#q.all<{ position: number | string }>(conn, sql`select position from worker_cursors where name = ${CURSOR} ${inTx && this.#q.pg ? sql`for update` : sql``}`)
    if (c) return Number(c.position)
    // A database whose row was removed by hand: start after the newest event, as migration 0008 does.
    const [newest] = await this.#q.all<{ position: number | string | null }>(conn, sql`select max(position) as position from events`)
    const position = Number(newest?.position ?? 0)
    if (inTx) await this.#q.run(conn, sql`insert into worker_cursors (name, position) values (${CURSOR}, ${position})`)
    return position
  }

  async fanOut(o: FanOut): Promise<FanOutResult> {
    const start = o.after ?? await this.#d.read(() => this.#storedCursor(this.#d.reader, false))
    // The page is the next `limit` events of every organization in feed order (SQLite's position
    // is the rowid; on PostgreSQL only stamped rows, on the index of stamped positions, and a
    // position is never stamped below one seen). Only the rows of `types` come back, with their
    // payload's data.state extracted by the database: the feed is mostly events the mailer has
    // no use for (a PATCH of 100 members writes 100), and reading each of them onto the event loop
    // cost a server catching up after a burst more than the rest of the fan-out. One statement, so
    // the page's end and its rows are one snapshot; the left join keeps the end when none match.
    const state = this.#q.pg ? sql`e.payload::json -> 'data' ->> 'state'` : sql`json_extract(e.payload, '$.data.state')`
    const wanted = o.types.length === 0 ? sql`false` : sql`e.type in (${sql.join(o.types)})`
    const records = await this.#q.read<FeedPageRecord>(sql`with page as (select max(position) as hi, count(*) as n from
        (select position from events where ${this.#q.pg ? sql`position is not null and ` : sql``}position > ${start} order by position limit ${o.limit}) p)
      select page.hi, page.n, e.position, e.org_id, e.type, e.resource_id, ${state} as state from page
        left join events e on e.position > ${start} and e.position <= page.hi and ${wanted}
      order by e.position`)
    const first = records[0]
    if (!first || first.hi === null) return { cursor: start, read: 0, queued: 0, stored: false }
    const end = Number(first.hi)
    const read = Number(first.n)
    const rows = records.flatMap((r): FeedRef[] => r.position === null ? [] : [{
      position: Number(r.position), orgId: r.org_id as OrgId, type: r.type as string, resourceId: r.resource_id as string, state: r.state,
    }])
    const picks = rows.flatMap((e) => {
      const userId = o.pick(e)
      return userId === null ? [] : [{ position: e.position, orgId: e.orgId, userId }]
    })
    // Nothing to queue: the cursor may stay behind (reading those events again queues nothing either).
    if (picks.length === 0 && !o.persist) return { cursor: end, read, queued: 0, stored: false }
    return this.#q.tx(async (conn) => {
      const stored = await this.#storedCursor(conn, true)
      // Another mailer got there first; what it read, it queued.
      if (stored >= end) return { cursor: stored, read, queued: 0, stored: true }
      const fresh = [...new Map(picks.filter((p) => p.position > stored).map((p) => [`${p.orgId}\u0000${p.userId}`, p])).values()]
      let queued = 0
      if (fresh.length > 0) {
        const source = this.#d.sql.recordSource(sql`${this.#d.sql.records(fresh.map((p) => ({ o: p.orgId, i: o.newId(), u: p.userId })))}`,
          [['o', 'text'], ['i', 'text'], ['u', 'text']], 'c')
        // PostgreSQL: the users are held first (KEY SHARE), so that a resend, which holds its user
        // FOR UPDATE while it revokes and queues, or an organization's deletion, which deletes
        // them, commits before the checks below read; without it a resend's new invitation and
        // this one were both queued (two emails, two working links).
        if (this.#q.pg) {
          await this.#q.all(conn, sql`select u.id from users u join ${source} on u.org_id = c.o and u.id = c.u order by u.org_id, u.id for key share of u`)
        }
        queued = await this.#q.run(conn, sql`insert into invitations (org_id, id, user_id, status, created_at, attempts, next_attempt_ms, lease_until_ms)
          select c.o, c.i, c.u, 'queued', ${o.now}, 0, ${o.nowMs}, 0 from ${source}
          where exists (select 1 from users u where u.org_id = c.o and u.id = c.u and u.pending = 1)
            and not exists (select 1 from invitations x where x.org_id = c.o and x.user_id = c.u and x.status in ('queued', 'sent'))`)
      }
      await this.#q.run(conn, sql`update worker_cursors set position = ${end} where name = ${CURSOR}`)
      return { cursor: end, read, queued, stored: true }
    })
  }

  async hasDue(nowMs: number): Promise<boolean> {
    // The literal status lets SQLite use the partial index invitations_due.
    const rows = await this.#q.read<{ id: string }>(sql`select id from invitations where status = 'queued' and next_attempt_ms <= ${nowMs} and lease_until_ms < ${nowMs} limit 1`)
    return rows.length > 0
  }

  claim(c: Claim): Promise<readonly ArmedInvitation[]> {
    return this.#q.tx(async (conn) => {
      const rows = c.perOrgPerHour > 0 ? await this.#dueWithinCap(conn, c) : await this.#due(conn, c, c.limit, [], [])
      const out: ArmedInvitation[] = []
      for (const r of rows) {
        const claimed = { invitation: toInvitation(r), orgName: r.org_name, user: claimedUser(r) }
        const d = c.arm(claimed)
        if (d.kind === 'end') {
          await this.#q.run(conn, sql`update invitations set status = ${d.status}, ended_at = ${c.now}, last_error = ${d.reason}, lease_until_ms = 0
            where org_id = ${r.org_id} and id = ${r.id}`)
          continue
        }
        // The token's hash and expiry are stored before the email goes out: a token in a mailbox is always one the store knows.
        await this.#q.run(conn, sql`update invitations set lease_until_ms = ${c.nowMs + c.leaseMs}, attempts = attempts + 1, token_hash = ${d.tokenHash},
          expires_at = ${d.expiresAt}, email = ${d.email} where org_id = ${r.org_id} and id = ${r.id}`)
        out.push({
          ...claimed, invitation: { ...claimed.invitation, attempts: claimed.invitation.attempts + 1, email: d.email, expiresAt: d.expiresAt },
          tokenHash: d.tokenHash, expiresAt: d.expiresAt, email: d.email,
        })
      }
      return out
    })
  }

  /** Up to `limit` due, unleased queued invitations, oldest due first, of no organization in `closed` and none of `taken`. */
  #due(conn: Conn, c: Claim, limit: number, closed: readonly string[], taken: readonly string[]): Promise<ClaimRecord[]> {
    const notClosed = closed.length === 0 ? sql`` : sql`and i.org_id not in (${sql.join(closed)})`
    const notTaken = taken.length === 0 ? sql`` : sql`and i.id not in (${sql.join(taken)})`
    return this.#q.all<ClaimRecord>(conn, sql`select i.*, o.name as org_name, u.id as u_id, u.version as u_version, u.created_at as u_created_at,
        u.updated_at as u_updated_at, u.data as u_data, u.managed_by as u_managed_by, u.identity_provider as u_identity_provider,
        u.custom_attributes as u_custom_attributes, u.pending as u_pending, u.metadata as u_metadata
      from invitations i
      join orgs o on o.id = i.org_id
      left join users u on u.org_id = i.org_id and u.id = i.user_id
      where i.status = 'queued' and i.next_attempt_ms <= ${c.nowMs} and i.lease_until_ms < ${c.nowMs} ${notClosed} ${notTaken}
      order by i.next_attempt_ms limit ${limit} ${this.#q.pg ? sql`for update of i skip locked` : sql``}`)
  }

  /**
   * The due invitations a claim may take under the per-organization cap (OWASP API Security Top
   * 10 2023, API6: an identity provider creating thousands of users must not make the server send
   * thousands of emails at once). Each organization among the due rows is counted once: its
   * invitations sent within the hour, and those claimed and still being sent (another mailer's
   * lease). One at the cap is passed over, and the next rows are read without it, so a backlog of
   * one organization never holds up another's; one whose sent invitations alone fill the hour has
   * its queued invitations made due when the window has room again, so that no mailer reads them
   * before then. On PostgreSQL claims under a cap take turns (a transaction-scoped advisory lock):
   * two mailers counting at once would each see the room the other is about to take.
   */
  async #dueWithinCap(conn: Conn, c: Claim): Promise<ClaimRecord[]> {
    if (this.#q.pg) await this.#q.all(conn, sql`select pg_advisory_xact_lock(hashtext(${CAP_LOCK}))`)
    const since = new Date(c.nowMs - HOUR_MS).toISOString()
    const room = new Map<string, number>()
    const taken: ClaimRecord[] = []
    for (let round = 0; round < CAP_ROUNDS && taken.length < c.limit; round++) {
      const closed = [...room].flatMap(([orgId, left]) => (left <= 0 ? [orgId] : []))
      const rows = await this.#due(conn, c, c.limit - taken.length, closed, taken.map((r) => r.id))
      const counted = await this.#roomLeft(conn, c, since, [...new Set(rows.map((r) => r.org_id))].filter((orgId) => !room.has(orgId)))
      for (const [orgId, left] of counted) room.set(orgId, left)
      let passedOver = false
      for (const r of rows) {
        const left = room.get(r.org_id) ?? 0
        if (left <= 0) {
          passedOver = true
          continue
        }
        room.set(r.org_id, left - 1)
        taken.push(r)
      }
      // Every row read was taken: the limit is reached, or nothing else is due.
      if (!passedOver) break
    }
    return taken
  }

  /** What each organization may still send within the hour; those whose sent invitations fill it are held until it has room. */
  async #roomLeft(conn: Conn, c: Claim, since: string, orgIds: readonly string[]): Promise<Map<string, number>> {
    const left = new Map<string, number>()
    if (orgIds.length === 0) return left
    // Two reads, each on its index: sent within the hour (invitations_sent, migration 0018), and
    // claimed and still being sent (invitations_due: a claimed invitation was due when claimed).
    const sentRows = await this.#q.all<{ org_id: string; n: number | string }>(conn, sql`select org_id, count(*) as n from invitations
      where org_id in (${sql.join(orgIds)}) and sent_at is not null and sent_at > ${since} group by org_id`)
    const sendingRows = await this.#q.all<{ org_id: string; n: number | string }>(conn, sql`select org_id, count(*) as n from invitations
      where status = 'queued' and next_attempt_ms <= ${c.nowMs} and lease_until_ms >= ${c.nowMs} and org_id in (${sql.join(orgIds)}) group by org_id`)
    const sentBy = new Map(sentRows.map((r) => [r.org_id, Number(r.n)]))
    const sendingBy = new Map(sendingRows.map((r) => [r.org_id, Number(r.n)]))
    for (const orgId of orgIds) {
      const sent = sentBy.get(orgId) ?? 0
      left.set(orgId, c.perOrgPerHour - sent - (sendingBy.get(orgId) ?? 0))
      if (sent < c.perOrgPerHour) continue
      // The window has room once the sends beyond the cap's are an hour old: the (sent − cap + 1)th oldest.
      const [edge] = await this.#q.all<{ sent_at: string }>(conn, sql`select sent_at from invitations where org_id = ${orgId} and sent_at > ${since}
        order by sent_at limit 1 offset ${sent - c.perOrgPerHour}`)
      if (!edge) continue
      const opensMs = Date.parse(edge.sent_at) + HOUR_MS
      await this.#q.run(conn, sql`update invitations set next_attempt_ms = ${opensMs}
        where org_id = ${orgId} and status = 'queued' and next_attempt_ms < ${opensMs} and lease_until_ms < ${c.nowMs}`)
    }
    return left
  }

  async dueExpiries(now: string, limit: number): Promise<readonly InvitationRow[]> {
    return (await this.#q.read<InvitationsTable>(sql`select * from invitations where status = 'sent' and expires_at <= ${now} order by expires_at limit ${limit}`))
      .map(toInvitation)
  }

  async latest(orgId: OrgId, userId: ResourceId): Promise<InvitationRow | null> {
    const [r] = await this.#q.read<InvitationsTable>(sql`select * from invitations where org_id = ${orgId} and user_id = ${userId}
      order by created_at desc, id desc limit 1`)
    return r ? toInvitation(r) : null
  }
}
