// Webhook delivery (docs/events.md): one loop per process turns new events into deliveries
// (fan-out), leases lane heads that are due, sends each exactly as stored and signed the
// Standard Webhooks way, and records every attempt with what follows from it: delivered (the
// lane's next event becomes its head), retried on the backoff schedule (Retry-After honoured),
// failed after three days of retries, or the endpoint disabled (410 Gone, or five days of
// failures). A lane has at most one delivery in flight; lanes run in parallel up to
// `concurrency`, shared out among endpoints with at most `perEndpoint` lanes of one endpoint in
// flight, so one slow receiver or resource holds up nothing else. Delivery is at least
// once: a worker killed after sending and before recording sends again when its lease expires.
import { randomBytes } from 'node:crypto'
import type { Store } from '../store/store.ts'
import type { AttemptRow, DeliveryJob, DeliveryResult } from '../store/webhook-store.ts'
import { NO_MAPPING } from '../orgs/settings.ts'
import { nextAttemptAt, parseRetryAfter, shouldDisableEndpoint } from './backoff.ts'
import { endpointDisabled } from './build.ts'
import { DEFAULT_TIMEOUT_MS, postWebhook, type ResolveHost, type WebhookResponse } from './outbound.ts'
import { expand, type Event } from './rows.ts'
import { webhookHeaders } from './signing.ts'
import { activeSecrets, redactedUrl } from './webhooks.ts'

export interface DispatcherOptions {
  readonly store: Store
  readonly newId: () => string
  readonly now: () => Date
  /** Deliver to loopback, link-local and private addresses (ROSTER_WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean
  /** Most deliveries in flight at once. */
  readonly concurrency?: number
  /** Most lanes of one endpoint in flight at once (default a quarter of `concurrency`), so that a slow endpoint leaves slots to the others. */
  readonly perEndpoint?: number
  /** How long a claimed delivery is this worker's (default: twice the timeout and a second, so a lease never ends while its request runs). */
  readonly leaseMs?: number
  readonly timeoutMs?: number
  /** How often an idle loop looks for due retries and other servers' events. */
  readonly intervalMs?: number
  readonly random?: () => number
  readonly lookup?: ResolveHost
  readonly onError?: (err: unknown) => void
}

/** Most events of one endpoint fanned out per pass. */
const FAN_OUT_LIMIT = 5_000
/** Most lanes leased per claim. */
const CLAIM_LIMIT = 1_000
/** Deliveries a lane takes along behind its head when few lanes are due. */
const FOLLOWERS = 200
/** Results that wake the loop to record them at once. */
const FLUSH_AT = 256
/** How long a finished send waits for others before the loop records them together. */
const GATHER_MS = 2
/** How long a commit that wrote events waits for others before the loop fans them out (a busy server commits hundreds a second). */
const EVENTS_GATHER_MS = 10

export class WebhookDispatcher {
  readonly #o: Required<Omit<DispatcherOptions, 'lookup' | 'onError'>> & Pick<DispatcherOptions, 'lookup' | 'onError'>
  /** This process's lease owner name. */
  readonly owner = `worker-${randomBytes(6).toString('hex')}`
  #inflight = 0
  /** Lanes in flight per endpoint id (the claim shares slots out by it). */
  readonly #byEndpoint = new Map<string, number>()
  #results: DeliveryResult[] = []
  #wake: (() => void) | null = null
  #stopped = false
  #loop: Promise<void> | null = null
  readonly #sends = new Set<Promise<void>>()
  #offEvents: (() => void) | null = null
  #gather: NodeJS.Timeout | null = null

  constructor(opts: DispatcherOptions) {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const concurrency = opts.concurrency ?? 256
    this.#o = {
      concurrency, perEndpoint: Math.max(1, Math.floor(concurrency / 4)), leaseMs: 2 * timeoutMs + 1_000, timeoutMs, intervalMs: 250, random: Math.random, ...opts,
    }
  }

  /** Started and not stopped (readiness, src/http/health.ts). */
  get running(): boolean {
    return this.#loop !== null && !this.#stopped
  }

  start(): void {
    if (this.#loop) return
    // A burst of commits wakes the loop once.
    this.#offEvents = this.#o.store.onEvents(() => this.#finished(EVENTS_GATHER_MS))
    this.#loop = this.#run()
  }

  /** Delivered, retried and failed attempts so far are recorded; in-flight sends finish first (up to `graceMs`). */
  async stop(graceMs = 5_000): Promise<void> {
    this.#stopped = true
    this.#offEvents?.()
    if (this.#gather !== null) clearTimeout(this.#gather)
    this.#signal()
    await this.#loop
    let timer: NodeJS.Timeout | undefined
    const drained = await Promise.race([Promise.all(this.#sends).then(() => true), new Promise<false>((r) => { timer = setTimeout(() => r(false), graceMs) })])
    clearTimeout(timer)
    await this.#flush().catch((e: unknown) => this.#o.onError?.(e))
    // Leased lanes nobody is sending go back at once rather than at their lease's end; while a
    // send is still out, its lease stays, so that no other worker sends the same event meanwhile.
    if (drained) await this.#o.store.webhooks.releaseLeases(this.owner).catch((e: unknown) => this.#o.onError?.(e))
  }

  #signal(): void {
    const w = this.#wake
    this.#wake = null
    w?.()
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null
        resolve()
      }, ms)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  async #run(): Promise<void> {
    const { store, newId, now } = this.#o
    while (!this.#stopped) {
      try {
        await store.webhooks.fanOut(newId, now().getTime(), FAN_OUT_LIMIT)
        const nowMs = now().getTime()
        const free = this.#o.concurrency - this.#inflight
        // Nothing finished and nothing due (an idle server, whose commits still wake the loop): no write at all.
        if (this.#results.length === 0 && (free <= 0 || !(await store.webhooks.hasDue(nowMs)))) {
          if (!this.#stopped) await this.#sleep(this.#o.intervalMs)
          continue
        }
        // What finished is recorded and new lanes are leased in one transaction: one commit a round.
        const results = this.#results
        this.#results = []
        let lanes: readonly (readonly DeliveryJob[])[]
        try {
          lanes = await store.webhooks.completeAndClaim(results, new Date(nowMs).toISOString(), {
            owner: this.owner, nowMs, leaseMs: this.#o.leaseMs, limit: Math.max(0, Math.min(free, CLAIM_LIMIT)), followers: FOLLOWERS,
            perEndpoint: this.#o.perEndpoint, busy: [...this.#byEndpoint],
          })
        } catch (e) {
          this.#results = results.concat(this.#results)
          throw e
        }
        for (const lane of lanes) this.#sendLane(lane)
        // Round again when enough sends have finished (or soon after the first), an event is committed, or after the interval.
        if (this.#results.length < FLUSH_AT && !this.#stopped) await this.#sleep(this.#o.intervalMs)
      } catch (e) {
        // The database is unavailable: nothing is lost (deliveries wait in their table); try again shortly.
        this.#o.onError?.(e)
        if (!this.#stopped) await this.#sleep(1_000)
      }
    }
  }

  async #flush(): Promise<void> {
    if (this.#results.length === 0) return
    const batch = this.#results
    this.#results = []
    try {
      await this.#o.store.webhooks.complete(batch, this.#o.now().toISOString(), this.owner)
    } catch (e) {
      this.#results = batch.concat(this.#results)
      throw e
    }
  }

  /** A finished send wakes the loop after a short gather (several finish together), at once past FLUSH_AT. */
  #finished(gatherMs = GATHER_MS): void {
    if (this.#results.length >= FLUSH_AT) {
      this.#signal()
      return
    }
    if (this.#gather !== null) return
    this.#gather = setTimeout(() => {
      this.#gather = null
      this.#signal()
    }, gatherMs)
  }

  /**
   * Sends a lane's jobs one after another, each job's events in order (a membership row holds
   * many); the first event that is not delivered ends the run (the rest wait behind it).
   */
  #sendLane(jobs: readonly DeliveryJob[]): void {
    const endpointId = jobs[0]?.endpointId ?? ''
    this.#inflight++
    this.#byEndpoint.set(endpointId, (this.#byEndpoint.get(endpointId) ?? 0) + 1)
    // An event is started only while its lease will outlast the request (a slow receiver's long lane stops early).
    const leasedUntil = this.#o.now().getTime() + this.#o.leaseMs - this.#o.timeoutMs
    const p = (async () => {
      run: for (const [j, job] of jobs.entries()) {
        const events = job.events === null ? null : expand(job.events, job.offset, job.until)
        if (events === null) {
          // Retention deleted the row before it could be delivered: recorded as failed, and the lane goes on.
          this.#results.push(this.#gone(job))
          continue
        }
        for (const event of events) {
          if (this.#stopped || this.#o.now().getTime() > leasedUntil) {
            // Handed back now, not at the lease's end: the lane is free for the next round (or another worker).
            this.#results.push({ kind: 'release', job, index: event.index }, ...jobs.slice(j + 1).map((f) => ({ kind: 'release' as const, job: f, index: f.offset })))
            break run
          }
          const result = await this.#attempt(job, event)
          this.#results.push(result)
          // Recorded as the lane goes, so that its progress is kept even while later events are sent.
          if (this.#results.length >= FLUSH_AT) this.#signal()
          if (result.kind !== 'delivered') {
            // The deliveries taken along behind it are handed back with it: left leased, the next of
            // them would become the lane's head still leased once the retry is delivered, and no
            // claim could take it until the lease ran out.
            this.#results.push(...jobs.slice(j + 1).map((f) => ({ kind: 'release' as const, job: f, index: f.offset })))
            break run
          }
        }
      }
    })()
      .catch((e: unknown) => this.#o.onError?.(e))
      .finally(() => {
        this.#inflight--
        const left = (this.#byEndpoint.get(endpointId) ?? 1) - 1
        if (left > 0) this.#byEndpoint.set(endpointId, left)
        else this.#byEndpoint.delete(endpointId)
        this.#sends.delete(p)
        this.#finished()
      })
    this.#sends.add(p)
  }

  #gone(job: DeliveryJob): DeliveryResult {
    const attempt = this.#attemptRow(job, `position-${job.position}`, '', this.#o.now().toISOString(),
      { status: null, durationMs: 0, excerpt: '', error: 'the event is no longer in the feed (past its retention)' }, 'failed')
    return { kind: 'failed', job: { ...job, offset: job.until - 1 }, index: job.until - 1, attempt }
  }

  async #attempt(job: DeliveryJob, event: Event): Promise<DeliveryResult> {
    const started = this.#o.now()
    const headers = webhookHeaders(activeSecrets(job.secrets, started.toISOString()).map((s) => s.secret), event.id, Math.floor(started.getTime() / 1_000), event.payload)
    const res = await postWebhook(job.url, { ...headers }, event.payload, {
      timeoutMs: this.#o.timeoutMs, allowPrivate: this.#o.allowPrivate, ...(this.#o.lookup ? { lookup: this.#o.lookup } : {}),
    })
    return this.#decide(job, event, res, this.#o.now())
  }

  #decide(job: DeliveryJob, event: Event, res: WebhookResponse, at: Date): DeliveryResult {
    const nowMs = at.getTime()
    const base = { job, index: event.index }
    const row = (outcome: AttemptRow['outcome']) => this.#attemptRow(job, event.id, event.type, at.toISOString(), res, outcome)
    if (res.status !== null && res.status >= 200 && res.status < 300) return { ...base, kind: 'delivered', attempt: row('delivered') }
    // Standard Webhooks: 410 Gone means the receiver wants no more deliveries.
    if (res.status === 410) return this.#disable(job, base, row('disabled'), 'the endpoint answered 410 Gone', null, at)
    const failingSince = job.failingSince === null ? null : Date.parse(job.failingSince)
    if (shouldDisableEndpoint(failingSince, nowMs)) {
      return this.#disable(job, base, row('disabled'), `every delivery has failed since ${job.failingSince ?? ''} (5 days)`, job.failingSince, at)
    }
    // The job's attempts count the event at its offset; a later event of the row starts afresh.
    const first = event.index === job.offset
    const firstFailureMs = (first ? job.firstFailureMs : null) ?? nowMs
    const next = nextAttemptAt(firstFailureMs, (first ? job.attempts : 0) + 1, nowMs, this.#o.random, parseRetryAfter(res.retryAfter, nowMs))
    if (next === null) return { ...base, kind: 'failed', attempt: row('failed') }
    return { ...base, kind: 'retry', attempt: row('retrying'), nextAttemptMs: next, firstFailureMs }
  }

  /** A disabling, with the notice the organization's feed and other endpoints get if it takes (EVT-8). */
  #disable(job: DeliveryJob, base: { job: DeliveryJob; index: number }, attempt: AttemptRow, reason: string, failingSince: string | null, at: Date): DeliveryResult {
    const notice = endpointDisabled({ orgId: job.orgId, at: at.toISOString(), newId: this.#o.newId, mapping: NO_MAPPING }, {
      id: job.endpointId, url: redactedUrl(job.url), reason, failingSince,
    })
    return { ...base, kind: 'disable', attempt, reason, failingSince, notice }
  }

  #attemptRow(job: DeliveryJob, eventId: string, eventType: string, at: string, res: Pick<WebhookResponse, 'status' | 'durationMs' | 'excerpt' | 'error'>, outcome: AttemptRow['outcome']): AttemptRow {
    return {
      id: this.#o.newId(), endpointId: job.endpointId, eventId, eventType, at, status: res.status,
      durationMs: Math.round(res.durationMs), outcome, excerpt: res.excerpt === '' ? null : res.excerpt, error: res.error ?? null,
    }
  }
}
