// When to try a failed webhook delivery again: Svix's published schedule
// (https://docs.svix.com/retries), continued every 10 h until 3 days have passed, with the
// random jitter Standard Webhooks recommends ("Deliverability and reliability").
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Delay after the 1st, 2nd, ... failure; the first attempt itself is immediate. */
export const RETRY_SCHEDULE_MS: readonly number[] = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]
const LAST_DELAY_MS = 10 * HOUR
/** A message is retried for at least this long after its first failure. */
export const RETRY_FOR_MS = 3 * 24 * HOUR
/** An endpoint that has failed every attempt for this long is disabled (Svix's rule). */
export const DISABLE_AFTER_MS = 5 * 24 * HOUR
/** A receiver's Retry-After beyond this is a misconfiguration, not a plan. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR
// ±20 %: enough to spread endpoints that failed together (an outage) without blurring the schedule.
const JITTER = 0.2

/** The jittered delay after `failures` failures (1-based); `random` returns [0, 1), like Math.random. */
export function retryDelayMs(failures: number, random: () => number): number {
  if (!Number.isInteger(failures) || failures < 1) throw new RangeError(`failures must be a positive integer, got ${failures}`)
  const base = RETRY_SCHEDULE_MS[failures - 1] ?? LAST_DELAY_MS
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()))
}

/**
 * Epoch ms of the next attempt after a failure at `nowMs`, or null when the message has been
 * retried for RETRY_FOR_MS since `firstFailureMs`.
 *
 * The window is never cut short: while it is open the next attempt is scheduled even if it lands
 * past its end, so the last attempt is the first one at or after 3 days. A Retry-After is
 * honoured as a minimum wait: it can push an attempt later, never earlier than the schedule,
 * because a receiver that asks for 1 s while failing should still get the backoff.
 */
export function nextAttemptAt(firstFailureMs: number, failures: number, nowMs: number, random: () => number, retryAfterMs?: number): number | null {
  if (nowMs - firstFailureMs >= RETRY_FOR_MS) return null
  const scheduled = retryDelayMs(failures, random)
  const wait = retryAfterMs === undefined ? scheduled : Math.max(scheduled, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS))
  return nowMs + wait
}

/** Whether an endpoint failing without a success since `failingSinceMs` should be disabled. */
export function shouldDisableEndpoint(failingSinceMs: number | null, nowMs: number): boolean {
  return failingSinceMs !== null && nowMs - failingSinceMs >= DISABLE_AFTER_MS
}

/**
 * A Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as ms to wait from
 * `nowMs`, capped at 24 h; undefined when absent or unreadable. A date in the past means 0.
 */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined
  const value = header.trim()
  if (/^\d+$/.test(value)) return Math.min(Number(value) * SECOND, MAX_RETRY_AFTER_MS)
  // Every HTTP-date form names the month; requiring a letter keeps Date.parse from reading
  // "1.5" or "-3" as dates.
  if (!/[A-Za-z]/.test(value)) return undefined
  // asctime dates carry no zone yet mean GMT, as all HTTP-dates do; Date.parse would read local time.
  const at = Date.parse(/GMT$/i.test(value) ? value : `${value} GMT`)
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS)
}
