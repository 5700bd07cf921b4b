import { describe, expect, it } from 'vitest'
import { AuthFailureLimiter, sourceKey } from './auth-failures.ts'

describe('sourceKey', () => {
  it('keeps IPv4 addresses, unwraps IPv4-mapped ones and counts IPv6 by its /64', () => {
    expect(sourceKey('203.0.113.7')).toBe('203.0.113.7')
    expect(sourceKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(sourceKey('::1')).toBe('0:0:0:0::/64')
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
    expect(sourceKey(undefined)).toBe('unknown')
  })
})

describe('AuthFailureLimiter', () => {
  it('refuses a source past its failures in the minute, says when to retry, and forgets failures a minute old', () => {
    let now = 1_000_000 * 60_000
    const l = new AuthFailureLimiter({ perMinute: 3 }, { now: () => now })
    l.failed('a')
    now += 20_000
    l.failed('a')
    l.failed('a')
    expect(l.refused('b')).toBeNull()
    // The first failure leaves the minute 40 s from now.
    expect(l.refused('a')).toBe(40)
    now += 40_000
    expect(l.refused('a')).toBeNull()
    l.failed('a')
    expect(l.refused('a')).toBe(20)
  })

  it('holds at most maxSources, forgetting the one idle longest', () => {
    const now = 0
    const l = new AuthFailureLimiter({ perMinute: 1 }, { now: () => now, maxSources: 2 })
    l.failed('a')
    l.failed('b')
    l.failed('a')
    l.failed('c')
    expect(l.size).toBe(2)
    expect(l.refused('b')).toBeNull()
    expect(l.refused('a')).not.toBeNull()
    expect(l.refused('c')).not.toBeNull()
  })

  it('counts nothing when off', () => {
    const l = new AuthFailureLimiter({ perMinute: 0 })
    for (let i = 0; i < 10; i++) l.failed('a')
    expect(l.refused('a')).toBeNull()
    expect(l.size).toBe(0)
  })
})
