import { describe, expect, it } from 'vitest'
import { DISABLE_AFTER_MS, RETRY_FOR_MS, nextAttemptAt, parseRetryAfter, retryDelayMs, shouldDisableEndpoint } from './backoff.ts'

const S = 1000
const M = 60 * S
const H = 60 * M
const middle = (): number => 0.5
const T0 = Date.UTC(2025, 0, 6, 9, 0, 0)

// Every failure's time, from the first one at `start` until nextAttemptAt says stop; each
// attempt is taken to fail the moment it is made.
function failureTimes(start: number, random: () => number, retryAfterMs?: number): number[] {
  const times = [start]
  for (let failures = 1; ; failures++) {
    const next = nextAttemptAt(start, failures, times[times.length - 1] ?? start, random, retryAfterMs)
    if (next === null) return times
    times.push(next)
    if (times.length > 100) throw new Error('the schedule never ends')
  }
}

describe('retryDelayMs', () => {
  it('follows the Svix schedule, then every 10 h', () => {
    const delays = Array.from({ length: 10 }, (_, i) => retryDelayMs(i + 1, middle))
    expect(delays).toEqual([5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H, 10 * H, 10 * H, 10 * H])
  })

  it('jitters by at most ±20 %', () => {
    expect(retryDelayMs(2, () => 0)).toBe(4 * M)
    expect(retryDelayMs(2, () => 0.999999)).toBe(Math.round(5 * M * (0.8 + 0.4 * 0.999999)))
    expect(retryDelayMs(2, () => 0.999999)).toBeLessThanOrEqual(6 * M)
    for (let i = 0; i < 1000; i++) {
      const failures = 1 + (i % 12)
      const base = retryDelayMs(failures, middle)
      const d = retryDelayMs(failures, Math.random)
      expect(d).toBeGreaterThanOrEqual(Math.round(base * 0.8))
      expect(d).toBeLessThanOrEqual(Math.round(base * 1.2))
    }
  })

  it('spreads endpoints that failed together', () => {
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, Math.random)))
    expect(seen.size).toBeGreaterThan(40)
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses failures = %s', (n) => {
    expect(() => retryDelayMs(n, middle)).toThrow(RangeError)
  })
})

describe('nextAttemptAt', () => {
  it('is the failure time plus the delay', () => {
    expect(nextAttemptAt(T0, 1, T0, middle)).toBe(T0 + 5 * S)
    expect(nextAttemptAt(T0, 3, T0 + 5 * M + 5 * S, middle)).toBe(T0 + 35 * M + 5 * S)
  })

  it('retries for 3 days and then stops, whatever the jitter', () => {
    for (const random of [() => 0, middle, () => 0.999999]) {
      const times = failureTimes(T0, random)
      const last = times[times.length - 1] ?? T0
      const beforeLast = times[times.length - 2] ?? T0
      expect(last - T0).toBeGreaterThanOrEqual(RETRY_FOR_MS)
      expect(beforeLast - T0).toBeLessThan(RETRY_FOR_MS)
      expect(last - T0).toBeLessThan(RETRY_FOR_MS + 12 * H)
    }
    // Without jitter: 1 first attempt + 7 scheduled retries (27:35:05) + 5 more every 10 h.
    const times = failureTimes(T0, middle)
    expect(times).toHaveLength(13)
    expect(times[7]! - T0).toBe(27 * H + 35 * M + 5 * S)
    expect(times[12]! - T0).toBe(77 * H + 35 * M + 5 * S)
  })

  it('returns null once the failure being recorded is 3 days after the first', () => {
    expect(nextAttemptAt(T0, 20, T0 + RETRY_FOR_MS - 1, middle)).toBe(T0 + RETRY_FOR_MS - 1 + 10 * H)
    expect(nextAttemptAt(T0, 20, T0 + RETRY_FOR_MS, middle)).toBeNull()
  })

  it('takes a Retry-After longer than the schedule as the wait, and never a shorter one', () => {
    expect(nextAttemptAt(T0, 1, T0, middle, 120 * S)).toBe(T0 + 120 * S)
    expect(nextAttemptAt(T0, 4, T0, middle, 120 * S)).toBe(T0 + 2 * H)
    expect(nextAttemptAt(T0, 1, T0, middle, 0)).toBe(T0 + 5 * S)
    expect(nextAttemptAt(T0, 1, T0, middle, 7 * 24 * H)).toBe(T0 + 24 * H)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 6, 9, 0, 0)
  it.each([
    ['120', 120 * S],
    [' 30 ', 30 * S],
    ['0', 0],
    ['999999', 24 * H],
    [new Date(now + 90 * S).toUTCString(), 90 * S],
    ['Mon, 06 Jan 2025 09:05:00 GMT', 5 * M],
    ['Monday, 06-Jan-25 09:05:00 GMT', 5 * M],
    ['Mon Jan  6 09:05:00 2025', 5 * M],
    ['Sun, 05 Jan 2025 09:00:00 GMT', 0],
    ['Fri, 06 Jan 2034 09:00:00 GMT', 24 * H],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%o -> %o ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms)
  })
})

describe('shouldDisableEndpoint', () => {
  it('after 5 days of failures, not before, and never without a failure', () => {
    expect(shouldDisableEndpoint(null, T0)).toBe(false)
    expect(shouldDisableEndpoint(T0, T0 + DISABLE_AFTER_MS - 1)).toBe(false)
    expect(shouldDisableEndpoint(T0, T0 + DISABLE_AFTER_MS)).toBe(true)
    expect(DISABLE_AFTER_MS).toBe(5 * 24 * H)
    expect(RETRY_FOR_MS).toBe(3 * 24 * H)
  })
})
