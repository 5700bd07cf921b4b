// Rate limits: a token bucket per credential and one per organization (docs/security.md, "Rate
// limits"). On the SCIM surface the credential is the SCIM token; on /api/v1 it is the API key or
// the console account, and the organization is the key's (an operator key has only its own
// bucket). The two surfaces have buckets of their own: an application polling the API never
// takes from what its identity provider may send. A bucket holds `rate × burstSeconds` requests and refills
// at `rate` a second; a request takes one from both buckets or is answered 429 with
// Retry-After (RFC 6585 §4) and the RateLimit / RateLimit-Policy fields of
// draft-ietf-httpapi-ratelimit-headers. The defaults sit far above what identity providers send
// (Microsoft's guidance is that a SCIM endpoint support 25 requests a second per tenant, and Entra
// ID waits out a 429's Retry-After: Microsoft Q&A 1233453 and 2284725), so they bound a runaway
// client, not a normal one.
//
// The check is a Map lookup and some arithmetic, in memory: it never adds a database round trip
// to a request. Several servers on one PostgreSQL share each bucket's consumption through
// the store's RateLimitBuckets (store/kysely/rate-limit-buckets.ts): every `syncMs` a server adds what it let
// through since its last sync to a per-key counter, in one statement for all its keys, and takes
// from its own buckets what the other servers let through meanwhile. A burst spread over several
// servers can overshoot by at most what they let through within one sync interval.
import { ScimError } from '../scim/errors.ts'
import type { RateLimitBuckets } from '../store/rate-limit-store.ts'

export interface RateLimitSettings {
  /** Requests a second per SCIM token (0: no limit). */
  readonly tokenPerSecond: number
  /** Requests a second per organization, over all its tokens (0: no limit). */
  readonly orgPerSecond: number
  /** A bucket holds this many seconds of its rate: the burst a quiet client may send at once. */
  readonly burstSeconds: number
}

interface Bucket {
  tokens: number
  at: number
  /** Let through here since the last sync. */
  pending: number
}

/** A shared bucket nobody used for this long is full again whatever it held: forgotten. */
const PRUNE_AFTER_MS = 10 * 60_000

export interface Decision {
  /** The credential's bucket, or the organization's. */
  readonly policy: 'token' | 'org'
  readonly retryAfterSeconds: number
  readonly quota: number
  readonly windowSeconds: number
}

export class RateLimiter {
  readonly #s: RateLimitSettings
  readonly #buckets = new Map<string, Bucket>()
  readonly #shared: RateLimitBuckets | null
  readonly #now: () => number
  readonly #onError: (e: unknown) => void
  #timer: NodeJS.Timeout | null = null
  #syncing: Promise<void> | null = null
  #lastPrune = 0

  constructor(settings: RateLimitSettings, opts: { shared?: RateLimitBuckets | null; syncMs?: number; now?: () => number; onError?: (e: unknown) => void } = {}) {
    this.#s = settings
    this.#shared = opts.shared ?? null
    this.#now = opts.now ?? Date.now
    this.#onError = opts.onError ?? (() => undefined)
    // Idle buckets are forgotten, and with PostgreSQL consumption is shared, on this beat.
    const every = this.#shared ? opts.syncMs ?? 250 : 10_000
    if (this.enabled) {
      this.#timer = setInterval(() => void this.sync(), every)
      this.#timer.unref()
    }
  }

  get enabled(): boolean {
    return this.#s.tokenPerSecond > 0 || this.#s.orgPerSecond > 0
  }

  /** A SCIM request: null when it may go on (it is counted); otherwise which limit it hit and when to retry. */
  take(tokenHash: string, orgId: string): Decision | null {
    return this.takeFrom(`t:${tokenHash}`, `o:${orgId}`)
  }

  /**
   * A request against a credential's bucket and its organization's (none: null). Keys start with
   * one letter per kind (rateOf): `t` SCIM token, `k` API key, `s` console account; `o` an
   * organization on SCIM, `a` on /api/v1.
   */
  takeFrom(credentialKey: string, orgKey: string | null): Decision | null {
    const now = this.#now()
    const t = this.#s.tokenPerSecond > 0 ? this.#refill(credentialKey, this.#s.tokenPerSecond, now) : null
    const o = this.#s.orgPerSecond > 0 && orgKey !== null ? this.#refill(orgKey, this.#s.orgPerSecond, now) : null
    if (t !== null && t.tokens < 1) return this.#refuse('token', t, this.#s.tokenPerSecond)
    if (o !== null && o.tokens < 1) return this.#refuse('org', o, this.#s.orgPerSecond)
    if (t !== null) {
      t.tokens -= 1
      t.pending += 1
    }
    if (o !== null) {
      o.tokens -= 1
      o.pending += 1
    }
    return null
  }

  #refill(key: string, rate: number, now: number): Bucket {
    const capacity = rate * this.#s.burstSeconds
    let b = this.#buckets.get(key)
    if (b === undefined) {
      b = { tokens: capacity, at: now, pending: 0 }
      this.#buckets.set(key, b)
    } else if (now > b.at) {
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * rate) / 1000)
      b.at = now
    }
    return b
  }

  #refuse(policy: 'token' | 'org', b: Bucket, rate: number): Decision {
    return { policy, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / rate)), quota: rate * this.#s.burstSeconds, windowSeconds: this.#s.burstSeconds }
  }

  /** Shares this server's consumption and takes the others' (PostgreSQL); forgets idle buckets. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().catch(this.#onError).finally(() => {
      this.#syncing = null
    })
    return this.#syncing
  }

  async #sync(): Promise<void> {
    const now = this.#now()
    if (this.#shared) await this.#share(now)
    // Alone, a bucket that would be full again is the same as no bucket. Shared, it stays while
    // the shared one may still remember it, so that this server keeps taking the others' use.
    const idleMs = this.#shared ? PRUNE_AFTER_MS : 0
    for (const [key, b] of this.#buckets) {
      const rate = this.#rateOf(key)
      if (b.pending === 0 && now - b.at >= idleMs && b.tokens + ((now - b.at) * rate) / 1000 >= rate * this.#s.burstSeconds) this.#buckets.delete(key)
    }
  }

  #rateOf(key: string): number {
    return key[0] === 'o' || key[0] === 'a' ? this.#s.orgPerSecond : this.#s.tokenPerSecond
  }

  async #share(now: number): Promise<void> {
    const shared = this.#shared as RateLimitBuckets
    const takes = [...this.#buckets].map(([key, b]) => {
      const rate = this.#rateOf(key)
      return { key, used: b.pending, rate, capacity: rate * this.#s.burstSeconds }
    }).sort((a, b) => (a.key < b.key ? -1 : 1))
    if (takes.length > 0) {
      for (const { key } of takes) (this.#buckets.get(key) as Bucket).pending = 0
      let held: ReadonlyMap<string, number>
      try {
        held = await shared.take(takes, now)
      } catch (e) {
        // Not shared this time: taken at the next sync.
        for (const { key, used } of takes) {
          const b = this.#buckets.get(key)
          if (b) b.pending += used
        }
        throw e
      }
      for (const { key } of takes) {
        const b = this.#buckets.get(key)
        const tokens = held.get(key)
        if (b === undefined || tokens === undefined) continue
        // The shared bucket as of `now`, less what this server let through since.
        b.tokens = tokens - b.pending
        b.at = now
      }
    }
    if (now - this.#lastPrune > PRUNE_AFTER_MS) {
      this.#lastPrune = now
      await shared.prune(now - PRUNE_AFTER_MS)
    }
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    await this.#syncing
  }
}

/** The 429's fields: Retry-After in seconds, and the policy and its state as draft-ietf-httpapi-ratelimit-headers spells them (quota `q` over a window `w`; remaining `r` after `t` seconds). */
export function rateLimitHeaders(d: Decision, credential: 'token' | 'key' | 'session'): Record<string, string> {
  const name = d.policy === 'token' ? `per-${credential}` : 'per-organization'
  return {
    'retry-after': String(d.retryAfterSeconds),
    'ratelimit-policy': `"${name}";q=${d.quota};w=${d.windowSeconds}`,
    ratelimit: `"${name}";r=0;t=${d.retryAfterSeconds}`,
  }
}

/**
 * The 429 of a refused SCIM request: a SCIM error document (RFC 7644 §3.12 lets a service provider
 * answer other HTTP statuses than its table lists) with rateLimitHeaders.
 */
export function tooManyRequests(d: Decision): ScimError {
  return new ScimError(429, null, `Too many requests for this ${d.policy === 'token' ? 'SCIM token' : 'organization'}; retry after ${d.retryAfterSeconds} s`, rateLimitHeaders(d, 'token'))
}
