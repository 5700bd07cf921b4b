// The mailer (docs/events.md, "Invitations"): one loop per process, like the webhook dispatcher.
// The queue is the event outbox: a SCIM create writes only its `user.created` event, and the
// loop reads the feed across every organization from its cursor, queueing an invitation for
// each user created `pending` (fan-out). It then leases due invitations, stores each one's token
// hash and expiry, sends the email (SMTP, or an .eml file in the outbox directory), and records
// the outcome: sent (with `user.invited`, in the same transaction), retried on a capped
// exponential backoff when the failure is transient (RFC 5321 §4.2.1: 4yz, or no answer), or
// failed when it is permanent (5yz) or three days after its first failure. Sent invitations past their expiry
// become expired (`user.invitation_expired`); the user stays pending. An organization sent
// ROSTER_INVITATIONS_PER_HOUR emails within the last hour has the rest wait, queued, until the
// hour has room (store/kysely/invitation-store.ts): an identity provider that creates thousands
// of users at once does not make the server send thousands of emails at once (OWASP API Security
// Top 10 2023, API6: unrestricted access to sensitive business flows).
//
// Sending is at least once: a mailer killed after the mail server took a message and before the
// outcome was recorded sends it again when its lease ends, with a new token (only the hash was
// stored, so the first email's link stops working and the newest one's works).
import { randomBytes } from 'node:crypto'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { Config } from '../config.ts'
import { apiUser, type ApiUser } from '../directory/shape.ts'
import { RETRY_FOR_MS } from '../events/backoff.ts'
import { userEvent, type EventContext } from '../events/build.ts'
import { generateInvitationToken } from '../orgs/invitation-tokens.ts'
import type { ArmDecision, ArmedInvitation, ClaimedInvitation, FeedRef } from '../store/invitation-store.ts'
import type { NewEvent, OrgId, Store, StoreTx } from '../store/store.ts'
import { invitationEmail, inviteUrl } from './templates.ts'
import { isBareAddress } from './mime.ts'
import { MailError, transportFromConfig, type MailTransport } from './transport.ts'

const DAY_MS = 86_400_000

export interface MailerSettings {
  readonly transport: MailTransport
  /** ROSTER_INVITE_URL: the accept page, `{token}` where the token goes. */
  readonly inviteUrl: string
  /** ROSTER_PRODUCT_NAME. */
  readonly productName: string
  /** ROSTER_MAIL_FROM. */
  readonly from: string
  /** ROSTER_INVITATION_TTL_DAYS. */
  readonly ttlDays: number
  /**
   * ROSTER_INVITATIONS_PER_HOUR: most invitation emails one organization is sent in any hour,
   * counted in the store so that every mailer on the database shares it; the rest wait queued
   * until the hour has room. 0 or absent: no cap.
   */
  readonly perOrgPerHour?: number
  /** The transport writes files (the outbox): each is logged. */
  readonly writesFiles?: boolean
  /** How often an idle loop looks for due retries and other servers' events. */
  readonly intervalMs?: number
  /** How often sent invitations are checked for expiry. */
  readonly sweepIntervalMs?: number
  /** How long a claimed invitation is this mailer's (longer than a batch of sends can take). */
  readonly leaseMs?: number
  /** The first retry's delay; each next one doubles, up to `retryMaxMs`. */
  readonly retryBaseMs?: number
  readonly retryMaxMs?: number
  /** A transient failure is retried this long after the invitation was queued, then it fails. */
  readonly retryForMs?: number
  /** Emails sent at once. */
  readonly concurrency?: number
  /**
   * Sends wait (at most MAX_DEFER_MS) while this process's event loop is saturated, so that a
   * burst of SCIM writes is not slowed by its own invitations (on by default).
   */
  readonly yieldToLoad?: boolean
  /**
   * The share (0–1) of the time since the last call during which requests were in flight
   * (http/in-flight.ts): a burst whose loop waits on the disk is not idle.
   */
  readonly load?: () => number
  readonly random?: () => number
}

export interface MailerOptions extends MailerSettings {
  readonly store: Store
  readonly now: () => Date
  readonly newId: () => string
  /** A message went out: the relay's answer or the file written (never the token). */
  readonly onSent?: (sent: { readonly orgId: OrgId; readonly invitationId: string; readonly where: string }) => void
  readonly onError?: (err: unknown) => void
}

/** Emails sent at once unless the settings say otherwise. */
export const MAIL_CONCURRENCY = 5
/** Event rows read per fan-out pass. */
const FAN_OUT_LIMIT = 1_000
/** Invitations claimed at once: a few rounds of `concurrency` sends, well inside the lease. */
const CLAIM_LIMIT = 20
/**
 * Event rows read per pass while the server is saturated. A pressed pass sends at most
 * CLAIM_LIMIT emails, so queueing a thousand invitations then would be work done early, in one
 * write transaction that holds every request up (11-25 ms on the benchmark's machine); five
 * claims' worth keeps the queue ahead of the sends, and the rest waits until the server breathes.
 */
const PRESSED_FAN_OUT_LIMIT = 5 * CLAIM_LIMIT
/** Expired invitations recorded per transaction. */
const EXPIRE_LIMIT = 500
/** How long a commit that wrote events waits for others before the loop reads them. */
const EVENTS_GATHER_MS = 10
/** A cursor that moved over events needing nothing is stored at most this often. */
const CURSOR_PERSIST_MS = 1_000
/** Longest last_error kept. */
const MAX_ERROR = 1_000
/** The event loop's busy share above which sends wait. */
const BUSY_UTILIZATION = 0.9
/** Under constant load, a batch still goes at least this often. */
const MAX_DEFER_MS = 1_000
/** How long a saturated server is left alone before the mailer looks again. */
const BUSY_PAUSE_MS = 100

/** The jittered delay (±20 %) after the `attempt`th failed send: base × 2^(attempt−1), capped. */
export function mailRetryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exact = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 40))
  return Math.round(exact * (0.8 + 0.4 * random()))
}

/** Where an invitation goes: the primary (else first) email, else a userName that is an address. */
export function invitationAddress(user: Pick<ApiUser, 'email' | 'userName'>): string | null {
  if (user.email !== null && isBareAddress(user.email)) return user.email
  return isBareAddress(user.userName) ? user.userName : null
}

/** The events the mailer reads from the feed: those that may ask for an invitation. */
export const INVITING_EVENTS = ['user.created', 'user.reactivated'] as const

/**
 * A `user.created` of a user created pending asks for an invitation, and so does a
 * `user.reactivated` whose user is pending again: one created deactivated (`active: false`) was
 * never invited, and one deactivated before its email went out had it revoked. The fan-out queues
 * one only for a user that is still pending and has no open (queued or sent) invitation, so a
 * reactivated user whose sent invitation is still open keeps that one.
 */
function invitee(e: FeedRef): string | null {
  return (e.type === 'user.created' || e.type === 'user.reactivated') && e.state === 'pending' ? e.resourceId : null
}

type Outcome =
  | { readonly kind: 'sent'; readonly inv: ArmedInvitation }
  | { readonly kind: 'retry'; readonly inv: ArmedInvitation; readonly nextAttemptMs: number; readonly failedAtMs: number; readonly error: string }
  | { readonly kind: 'failed'; readonly inv: ArmedInvitation; readonly error: string }

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane))
  return out
}

type Resolved = Required<Omit<MailerOptions, 'onSent' | 'onError' | 'writesFiles' | 'load'>> & Pick<MailerOptions, 'onSent' | 'onError' | 'writesFiles' | 'load'>

export class Mailer {
  readonly #o: Resolved
  /** This process's name in logs. */
  readonly owner = `mailer-${randomBytes(6).toString('hex')}`
  #stopped = false
  #loop: Promise<void> | null = null
  #wake: (() => void) | null = null
  #offEvents: (() => void) | null = null
  #gather: NodeJS.Timeout | null = null
  /** The feed position read up to; null until the stored cursor is read. */
  #cursor: number | null = null
  /** Whether #cursor is ahead of the stored cursor. */
  #dirty = false
  #persistedAt = 0
  #nextSweepMs = 0
  #elu: EventLoopUtilization = performance.eventLoopUtilization()
  /** The last look found the event loop saturated. */
  #pressed = false
  /** When sends started waiting for the load to pass; null when they do not wait. */
  #deferredSince: number | null = null

  constructor(opts: MailerOptions) {
    this.#o = {
      intervalMs: 1_000, sweepIntervalMs: 60_000, leaseMs: 300_000, retryBaseMs: 5_000, retryMaxMs: 600_000, retryForMs: RETRY_FOR_MS,
      concurrency: MAIL_CONCURRENCY, random: Math.random, yieldToLoad: true, perOrgPerHour: 0, ...opts,
    }
  }

  /** Started and not stopped (readiness, src/http/health.ts). */
  get running(): boolean {
    return this.#loop !== null && !this.#stopped
  }

  start(): void {
    if (this.#loop) return
    this.#offEvents = this.#o.store.onEvents(() => {
      if (this.#gather !== null) return
      this.#gather = setTimeout(() => {
        this.#gather = null
        this.#signal()
      }, EVENTS_GATHER_MS)
    })
    this.#loop = this.#run()
  }

  /** Finishes the sends in progress and records them, stores the cursor, closes the transport. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#offEvents?.()
    if (this.#gather !== null) clearTimeout(this.#gather)
    this.#signal()
    await this.#loop
    if (this.#dirty) await this.#fanOut(true).catch((e: unknown) => this.#o.onError?.(e))
    await this.#o.transport.close()
  }

  #signal(): void {
    const w = this.#wake
    this.#wake = null
    w?.()
  }

  /** Waits `ms`; new events end the wait early unless `eventsWake` is false (stop always does). */
  #sleep(ms: number, eventsWake = true): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null
        resolve()
      }, ms)
      this.#wake = () => {
        if (!eventsWake && !this.#stopped) return
        clearTimeout(timer)
        resolve()
      }
    })
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        // A saturated server (a burst of SCIM creates) is left alone: its events wait in the
        // feed, and the mailer reads and sends nothing (not even the fan-out's inserts, which
        // would cost the single writer a row a create) until it breathes, or a second has
        // passed, and then only a short page (PRESSED_FAN_OUT_LIMIT) and one claim.
        const nowMs = this.#o.now().getTime()
        if (this.#busy(nowMs)) {
          await this.#sleep(BUSY_PAUSE_MS, false)
          continue
        }
        await this.#fanOut(false, this.#pressed ? 1 : Number.POSITIVE_INFINITY, this.#pressed ? PRESSED_FAN_OUT_LIMIT : FAN_OUT_LIMIT)
        if (nowMs >= this.#nextSweepMs) {
          await this.#expire()
          this.#nextSweepMs = nowMs + this.#o.sweepIntervalMs
        }
        // Nothing due (an idle server, whose commits still wake the loop): no write at all.
        const worked = !this.#stopped && (await this.#o.store.invitations.hasDue(nowMs)) && (await this.#sendDue())
        if (!worked && !this.#stopped) await this.#sleep(this.#o.intervalMs)
      } catch (e) {
        // The database is unavailable: nothing is lost (invitations wait in their table, events in the feed).
        this.#o.onError?.(e)
        if (!this.#stopped) await this.#sleep(Math.max(this.#o.intervalMs, 1_000))
      }
    }
  }

  /**
   * Whether sends should wait: the event loop was busy, or requests were in flight, more than
   * BUSY_UTILIZATION of the time since the last look (a burst of requests, whose invitations are
   * queued meanwhile), and they
   * have not waited MAX_DEFER_MS yet.
   */
  #busy(nowMs: number): boolean {
    if (!this.#o.yieldToLoad) return false
    const since = performance.eventLoopUtilization(this.#elu)
    this.#elu = performance.eventLoopUtilization()
    this.#pressed = Math.max(since.utilization, this.#o.load?.() ?? 0) >= BUSY_UTILIZATION
    if (!this.#pressed) {
      this.#deferredSince = null
      return false
    }
    this.#deferredSince ??= nowMs
    if (nowMs - this.#deferredSince < MAX_DEFER_MS) return true
    this.#deferredSince = null
    return false
  }

  /** Queues the invitations the feed asks for, until it is read to its end or `pages` pages of `limit` events were read. */
  async #fanOut(final: boolean, pages = Number.POSITIVE_INFINITY, limit = FAN_OUT_LIMIT): Promise<void> {
    for (let page = 0; page < pages; page++) {
      const at = this.#o.now()
      const persist = final || (this.#dirty && at.getTime() - this.#persistedAt >= CURSOR_PERSIST_MS)
      const r = await this.#o.store.invitations.fanOut({
        after: this.#cursor, limit, types: INVITING_EVENTS, pick: invitee, persist, newId: this.#o.newId,
        now: at.toISOString(), nowMs: at.getTime(),
      })
      this.#cursor = r.cursor
      if (r.stored) {
        this.#dirty = false
        this.#persistedAt = at.getTime()
      } else if (r.read > 0) {
        this.#dirty = true
      }
      if (r.read < limit || this.#stopped) return
    }
  }

  /** Claims due invitations and sends them; false when there was nothing to claim. */
  async #sendDue(): Promise<boolean> {
    const at = this.#o.now()
    const tokens = new Map<string, string>()
    let ended = 0
    const claimed = await this.#o.store.invitations.claim({
      nowMs: at.getTime(), now: at.toISOString(), leaseMs: this.#o.leaseMs, limit: CLAIM_LIMIT, perOrgPerHour: this.#o.perOrgPerHour,
      arm: (c) => {
        const d = this.#arm(c, at, tokens)
        if (d.kind === 'end') ended++
        return d
      },
    })
    if (claimed.length === 0) return ended > 0
    const outcomes = await mapLimit(claimed, this.#o.concurrency, (inv) => this.#send(inv, tokens.get(inv.invitation.id) ?? ''))
    await this.#record(outcomes)
    return true
  }

  #arm(c: ClaimedInvitation, at: Date, tokens: Map<string, string>): ArmDecision {
    if (c.user === null) return { kind: 'end', status: 'revoked', reason: 'the user was deleted before its invitation was sent' }
    const shape = apiUser(c.user)
    if (shape.state !== 'pending') return { kind: 'end', status: 'revoked', reason: `the user is ${shape.state}, no longer pending, so nothing was sent` }
    const email = invitationAddress(shape)
    if (email === null) {
      return { kind: 'end', status: 'failed', reason: 'the user has no email address to invite (no email, and a userName that is not an address)' }
    }
    const token = generateInvitationToken()
    tokens.set(c.invitation.id, token.token)
    return { kind: 'send', tokenHash: token.hash, expiresAt: new Date(at.getTime() + this.#o.ttlDays * DAY_MS).toISOString(), email }
  }

  async #send(inv: ArmedInvitation, token: string): Promise<Outcome> {
    const { invitation } = inv
    try {
      const shape = apiUser(inv.user as NonNullable<ArmedInvitation['user']>)
      const message = invitationEmail({
        productName: this.#o.productName, orgName: inv.orgName, userDisplayName: shape.displayName, userName: shape.userName, to: inv.email,
        acceptUrl: inviteUrl(this.#o.inviteUrl, token), expiresAt: new Date(inv.expiresAt), from: this.#o.from,
      })
      const sent = await this.#o.transport.send(message)
      this.#o.onSent?.({ orgId: invitation.orgId, invitationId: invitation.id, where: sent.where })
      return { kind: 'sent', inv }
    } catch (e) {
      const text = e instanceof MailError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e)
      const error = text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text
      if (e instanceof MailError && !e.transient) return { kind: 'failed', inv, error }
      const nowMs = this.#o.now().getTime()
      // Three days from the first failure, not from when it was queued: the per-hour cap may have
      // held it longer than that before its first try (docs/policies.md).
      if (nowMs - (invitation.firstFailureMs ?? nowMs) >= this.#o.retryForMs) {
        return { kind: 'failed', inv, error: `gave up after ${invitation.attempts} attempts: ${error}` }
      }
      return { kind: 'retry', inv, error, failedAtMs: nowMs, nextAttemptMs: nowMs + mailRetryDelayMs(invitation.attempts, this.#o.retryBaseMs, this.#o.retryMaxMs, this.#o.random) }
    }
  }

  /** The outcomes of a batch in one transaction: a sent invitation's `user.invited` commits with it. */
  async #record(outcomes: readonly Outcome[]): Promise<void> {
    const now = this.#o.now().toISOString()
    await this.#o.store.write(async (tx) => {
      const events = new Map<OrgId, NewEvent[]>()
      const ctxOf = this.#contexts(tx, now)
      for (const o of outcomes) {
        const { orgId, id, userId } = o.inv.invitation
        if (o.kind === 'retry') {
          await tx.invitations.markRetry(orgId, id, o.inv.tokenHash, o.nextAttemptMs, o.error, o.failedAtMs)
        } else if (o.kind === 'failed') {
          await tx.invitations.markFailed(orgId, id, o.inv.tokenHash, now, o.error)
        } else if (await tx.invitations.markSent(orgId, id, o.inv.tokenHash, now)) {
          const user = await tx.getUserForUpdate(orgId, userId)
          if (user) push(events, orgId, userEvent(await ctxOf(orgId), 'user.invited', user, { invitation: { id, expiresAt: o.inv.expiresAt } }))
        }
      }
      for (const [orgId, list] of events) await tx.insertEvents(orgId, list)
    })
  }

  /** Sent invitations past their expiry become expired, each with its event; the users stay pending. */
  async #expire(): Promise<void> {
    for (;;) {
      const now = this.#o.now().toISOString()
      const due = await this.#o.store.invitations.dueExpiries(now, EXPIRE_LIMIT)
      if (due.length === 0) return
      await this.#o.store.write(async (tx) => {
        const events = new Map<OrgId, NewEvent[]>()
        const ctxOf = this.#contexts(tx, now)
        for (const inv of due) {
          if (!(await tx.invitations.expire(inv.orgId, inv.id, now))) continue
          const user = await tx.getUserForUpdate(inv.orgId, inv.userId)
          if (user) push(events, inv.orgId, userEvent(await ctxOf(inv.orgId), 'user.invitation_expired', user, { invitation: { id: inv.id, expiresAt: inv.expiresAt } }))
        }
        for (const [orgId, list] of events) await tx.insertEvents(orgId, list)
      })
      if (due.length < EXPIRE_LIMIT || this.#stopped) return
    }
  }

  /**
   * The events' context of one transaction: each organization's attribute mapping read in it once,
   * however many of its users the batch holds.
   */
  #contexts(tx: StoreTx, at: string): (orgId: OrgId) => Promise<EventContext> {
    const made = new Map<OrgId, EventContext>()
    return async (orgId) => {
      let ctx = made.get(orgId)
      if (!ctx) made.set(orgId, (ctx = { orgId, at, newId: this.#o.newId, mapping: (await tx.orgs.policy(orgId)).settings.attributeMapping }))
      return ctx
    }
  }
}

function push(events: Map<OrgId, NewEvent[]>, orgId: OrgId, e: NewEvent): void {
  const list = events.get(orgId)
  if (list) list.push(e)
  else events.set(orgId, [e])
}

/** The mailer's settings from the configuration: SMTP when ROSTER_SMTP_URL is set, else .eml files in the outbox. */
export function mailerSettings(
  config: Pick<Config, 'smtpUrl' | 'outboxDir' | 'inviteUrl' | 'productName' | 'mailFrom' | 'invitationTtlDays' | 'invitationsPerHour'>,
): MailerSettings {
  return {
    transport: transportFromConfig({ smtpUrl: config.smtpUrl, outboxDir: config.outboxDir }),
    writesFiles: config.smtpUrl === null,
    inviteUrl: config.inviteUrl,
    productName: config.productName,
    from: config.mailFrom,
    ttlDays: config.invitationTtlDays,
    perOrgPerHour: config.invitationsPerHour,
  }
}
