// Webhook delivery (docs/events.md): one loop per process turns new events into deliveries
// (fan-out), leases lane heads that are due, sends each exactly as stored and signed the
// Standard Webhooks way, and records every attempt with what follows from it: delivered (the
// lane's next event becomes its head), retried on the backoff schedule (Retry-After honoured),
// failed after three days of retries, or the endpoint disabled (410 Gone, or five days of
// failures). A lane has at most one delivery in flight; lanes run in parallel up to
// `concurrency`, so one slow receiver or resource holds up nothing else. Delivery is at least
// once: a worker killed after sending and before recording sends again when its lease expires.
import { randomBytes } from 'node:crypto'
import type { Store } from '../store/store.ts'
import type { AttemptRow, DeliveryJob, DeliveryResult } from '../store/webhook-store.ts'
import { nextAttemptAt, parseRetryAfter, shouldDisableEndpoint } from './backoff.ts'
import { DEFAULT_TIMEOUT_MS, postWebhook, type ResolveHost, type WebhookResponse } from './outbound.ts'
import { webhookHeaders } from './signing.ts'

export interface DispatcherOptions {
  readonly store: Store
  readonly newId: () => string
  readonly now: () => Date
  /** Deliver to loopback, link-local and private addresses (ROSTER_WEBHOOK_ALLOW_PRIVATE). */
  readonly allowPrivate: boolean
  /** Most deliveries in flight at once. */
  readonly concurrency?: number
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
/** Most deliveries leased per claim. */
const CLAIM_LIMIT = 1_000

function secretsAt(job: DeliveryJob, nowIso: string): string[] {
  return job.secrets.filter((s) => s.expiresAt === null || s.expiresAt > nowIso).map((s) => s.secret)
}

export class WebhookDispatcher {
  readonly #o: Required<Omit<DispatcherOptions, 'lookup' | 'onError'>> & Pick<DispatcherOptions, 'lookup' | 'onError'>
  /** This process's lease owner name. */
  readonly owner = `worker-${randomBytes(6).toString('hex')}`
  #inflight = 0
  #results: DeliveryResult[] = []
  #wake: (() => void) | null = null
  #stopped = false
  #loop: Promise<void> | null = null
  readonly #sends = new Set<Promise<void>>()
  #offEvents: (() => void) | null = null

  constructor(opts: DispatcherOptions) {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#o = {
      concurrency: 256, leaseMs: 2 * timeoutMs + 1_000, timeoutMs, intervalMs: 250, random: Math.random, ...opts,
    }
  }

  start(): void {
    if (this.#loop) return
    this.#offEvents = this.#o.store.onEvents(() => this.#signal())
    this.#loop = this.#run()
  }

  /** Delivered, retried and failed attempts so far are recorded; in-flight sends finish first (up to `graceMs`). */
  async stop(graceMs = 5_000): Promise<void> {
    this.#stopped = true
    this.#offEvents?.()
    this.#signal()
    await this.#loop
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(this.#sends), new Promise((r) => { timer = setTimeout(r, graceMs) })])
    clearTimeout(timer)
    await this.#flush().catch((e: unknown) => this.#o.onError?.(e))
    // What is still in flight goes back at once rather than at its lease's end.
    await this.#o.store.webhooks.releaseLeases(this.owner).catch((e: unknown) => this.#o.onError?.(e))
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
        await this.#flush()
        const free = this.#o.concurrency - this.#inflight
        if (free > 0) {
          const nowMs = now().getTime()
          for (const job of await store.webhooks.claim(this.owner, nowMs, this.#o.leaseMs, Math.min(free, CLAIM_LIMIT))) this.#send(job)
        }
        // Round again as soon as a send finishes or an event is committed; else after the interval.
        if (this.#results.length === 0 && !this.#stopped) await this.#sleep(this.#o.intervalMs)
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
      await this.#o.store.webhooks.complete(batch, this.#o.now().toISOString())
    } catch (e) {
      this.#results = batch.concat(this.#results)
      throw e
    }
  }

  #send(job: DeliveryJob): void {
    this.#inflight++
    const started = this.#o.now()
    const p = this.#attempt(job, started)
      .then((result) => {
        this.#results.push(result)
      })
      .catch((e: unknown) => this.#o.onError?.(e))
      .finally(() => {
        this.#inflight--
        this.#sends.delete(p)
        this.#signal()
      })
    this.#sends.add(p)
  }

  async #attempt(job: DeliveryJob, started: Date): Promise<DeliveryResult> {
    const nowIso = started.toISOString()
    if (job.payload === '') {
      return { kind: 'failed', job, attempt: this.#attemptRow(job, nowIso, { status: null, durationMs: 0, excerpt: '', error: 'the event is no longer in the feed (past its retention)' }, 'failed') }
    }
    const headers = webhookHeaders(secretsAt(job, nowIso), job.eventId, Math.floor(started.getTime() / 1_000), job.payload)
    const res = await postWebhook(job.url, { ...headers }, job.payload, {
      timeoutMs: this.#o.timeoutMs, allowPrivate: this.#o.allowPrivate, ...(this.#o.lookup ? { lookup: this.#o.lookup } : {}),
    })
    return this.#decide(job, res, this.#o.now())
  }

  #decide(job: DeliveryJob, res: WebhookResponse, at: Date): DeliveryResult {
    const nowMs = at.getTime()
    const nowIso = at.toISOString()
    if (res.status !== null && res.status >= 200 && res.status < 300) return { kind: 'delivered', job, attempt: this.#attemptRow(job, nowIso, res, 'delivered') }
    // Standard Webhooks: 410 Gone means the receiver wants no more deliveries.
    if (res.status === 410) return { kind: 'disable', job, attempt: this.#attemptRow(job, nowIso, res, 'disabled'), reason: 'the endpoint answered 410 Gone' }
    const failingSince = job.failingSince === null ? null : Date.parse(job.failingSince)
    if (shouldDisableEndpoint(failingSince, nowMs)) {
      return { kind: 'disable', job, attempt: this.#attemptRow(job, nowIso, res, 'disabled'), reason: `every delivery has failed since ${job.failingSince ?? ''} (5 days)` }
    }
    const firstFailureMs = job.firstFailureMs ?? nowMs
    const next = nextAttemptAt(firstFailureMs, job.attempts + 1, nowMs, this.#o.random, parseRetryAfter(res.retryAfter, nowMs))
    if (next === null) return { kind: 'failed', job, attempt: this.#attemptRow(job, nowIso, res, 'failed') }
    return { kind: 'retry', job, attempt: this.#attemptRow(job, nowIso, res, 'retrying'), nextAttemptMs: next, firstFailureMs }
  }

  #attemptRow(job: DeliveryJob, at: string, res: Pick<WebhookResponse, 'status' | 'durationMs' | 'excerpt' | 'error'>, outcome: AttemptRow['outcome']): AttemptRow {
    return {
      id: this.#o.newId(), endpointId: job.endpointId, eventId: job.eventId, eventType: job.eventType, at, status: res.status,
      durationMs: Math.round(res.durationMs), outcome, excerpt: res.excerpt === '' ? null : res.excerpt, error: res.error ?? null,
    }
  }
}
