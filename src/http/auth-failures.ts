// Failed authentications per source address (docs/security.md, "Token guessing"). Rate limits
// (rate-limit.ts) apply once a request has authenticated; before that, every guessed SCIM token or
// API key cost the database a lookup or two. A source (the client's address, `request.ip`: an IPv4
// address, or an IPv6 address's /64, which one subscriber usually holds whole) that failed
// `limit` times within the last minute is answered 429 before its credential is read, whatever
// it sends, until enough of those failures are a minute old (OWASP ASVS 4.0.3 §2.2.1 and 13.2.4,
// OWASP API Security Top 10 2023 API2, RFC 7644 §7.4).
//
// The counts live in this process only: they start empty at each start, and several servers each
// count their own. Sources are kept in a map of at most `maxSources`; the one idle longest is
// forgotten first. The address is the connection's, or behind a proxy listed in
// ROSTER_TRUSTED_PROXIES the client its X-Forwarded-For names (Fastify's trustProxy); behind a
// proxy not listed, every client is the proxy.
import { isIPv4, isIPv6 } from 'node:net'

export interface AuthFailureSettings {
  /** Failed authentications a source may have within a minute (0: no limit). */
  readonly perMinute: number
}

/** The minute counted in slots of five seconds: a failure leaves the count within 5 s of its minute. */
const SLOTS = 12
const WINDOW_MS = 60_000
const SLOT_MS = WINDOW_MS / SLOTS
const MAX_SOURCES = 10_000

interface Source {
  /** Failures per slot, at the slot's index (time / SLOT_MS) modulo SLOTS; slots older than `newest` − SLOTS are stale. */
  readonly counts: number[]
  /** Index (time / SLOT_MS) of the newest slot counted. */
  newest: number
}

/** The key a connection's address is counted under: IPv4 as it is (IPv4-mapped too), IPv6 by its /64. */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1] !== undefined) return mapped[1]
  if (isIPv4(address)) return address
  const bare = address.split('%')[0] ?? address
  if (!isIPv6(bare)) return address
  const [head = '', tail] = bare.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  // An embedded IPv4 address in the last 32 bits stands for two groups (it is never in the /64).
  const width = left.length + right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0)
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - width)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`
}

/** A refused source's answer, in both surfaces' errors (scim/auth.ts, api/errors.ts). */
export function tooManyFailuresMessage(retryAfterSeconds: number): string {
  return `Too many failed authentications from this address; retry after ${retryAfterSeconds} s`
}

export class AuthFailureLimiter {
  readonly #perMinute: number
  readonly #now: () => number
  readonly #sources = new Map<string, Source>()
  readonly #maxSources: number
  readonly #onLimited: (source: string, perMinute: number) => void

  /** `onLimited`: a source's failure brought it to the limit (once each time it does: the server's log, UI-3). */
  constructor(settings: AuthFailureSettings, opts: { now?: () => number; maxSources?: number; onLimited?: (source: string, perMinute: number) => void } = {}) {
    this.#perMinute = settings.perMinute
    this.#now = opts.now ?? Date.now
    this.#maxSources = opts.maxSources ?? MAX_SOURCES
    this.#onLimited = opts.onLimited ?? (() => undefined)
  }

  get enabled(): boolean {
    return this.#perMinute > 0
  }

  /** Sources counted now (at most `maxSources`). */
  get size(): number {
    return this.#sources.size
  }

  /** Null when `source` may try to authenticate; otherwise the seconds until it may (Retry-After). */
  refused(source: string): number | null {
    if (!this.enabled) return null
    const s = this.#sources.get(source)
    if (s === undefined) return null
    const nowMs = this.#now()
    const now = Math.floor(nowMs / SLOT_MS)
    // The slots still within the minute: from the oldest one that is to the newest counted.
    const oldest = now - SLOTS + 1
    let total = 0
    for (let j = oldest; j <= s.newest; j++) total += s.counts[j % SLOTS] ?? 0
    if (total < this.#perMinute) return null
    // The oldest slots leave the minute first (slot j at (j + SLOTS) × SLOT_MS): wait until enough have.
    let j = oldest
    while (total >= this.#perMinute && j <= s.newest) total -= s.counts[j++ % SLOTS] ?? 0
    return Math.max(1, Math.ceil(((j - 1 + SLOTS) * SLOT_MS - nowMs) / 1000))
  }

  /** Counts a failed authentication of `source`. */
  failed(source: string): void {
    if (!this.enabled) return
    const now = Math.floor(this.#now() / SLOT_MS)
    let s = this.#sources.get(source)
    if (s === undefined) {
      if (this.#sources.size >= this.#maxSources) this.#forgetOne(now)
      s = { counts: Array<number>(SLOTS).fill(0), newest: now }
    } else {
      this.#advance(s, now)
      // Moved to the end: the map's first entry is the source idle longest.
      this.#sources.delete(source)
    }
    s.counts[now % SLOTS] = (s.counts[now % SLOTS] ?? 0) + 1
    this.#sources.set(source, s)
    // Exactly at the limit: the failures past it (requests already past the check) tell nothing new.
    let total = 0
    for (let j = now - SLOTS + 1; j <= now; j++) total += s.counts[j % SLOTS] ?? 0
    if (total === this.#perMinute) this.#onLimited(source, this.#perMinute)
  }

  /** Clears the slots that left the minute since `s` was last counted. */
  #advance(s: Source, now: number): void {
    if (now <= s.newest) return
    for (let i = s.newest + 1; i <= Math.min(now, s.newest + SLOTS); i++) s.counts[i % SLOTS] = 0
    s.newest = now
  }

  /** Room for one more: a source whose failures have all left the minute, else the one idle longest. */
  #forgetOne(now: number): void {
    const first = this.#sources.keys().next()
    if (!first.done) this.#sources.delete(first.value)
    // The first is the one idle longest; any others idle past the minute go as well.
    for (const [key, s] of this.#sources) {
      if (now - s.newest < SLOTS) break
      this.#sources.delete(key)
    }
  }
}
