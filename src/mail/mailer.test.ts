import { describe, expect, it } from 'vitest'
import { invitationAddress, mailRetryDelayMs } from './mailer.ts'

describe('mailRetryDelayMs', () => {
  it('doubles from the base up to the cap, within ±20 %', () => {
    const exact = [1, 2, 3, 4, 5, 6, 7, 30, 1_000].map((n) => mailRetryDelayMs(n, 5_000, 600_000, () => 0.5))
    expect(exact).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000])
    expect(mailRetryDelayMs(1, 5_000, 600_000, () => 0)).toBe(4_000)
    expect(mailRetryDelayMs(1, 5_000, 600_000, () => 0.999_999)).toBe(6_000)
    expect(mailRetryDelayMs(0, 50, 250, () => 0.5)).toBe(50)
  })
})

describe('invitationAddress', () => {
  it('takes the email, else a userName that is an address, else nothing', () => {
    expect(invitationAddress({ email: 'ada@example.com', userName: 'ada' })).toBe('ada@example.com')
    expect(invitationAddress({ email: null, userName: 'ada@example.com' })).toBe('ada@example.com')
    expect(invitationAddress({ email: 'not an address', userName: 'ada@example.com' })).toBe('ada@example.com')
    expect(invitationAddress({ email: null, userName: 'ada' })).toBeNull()
    // One address only: never a list or a display name that could add a recipient.
    expect(invitationAddress({ email: 'a@example.com, b@example.com', userName: 'Ada <a@example.com>' })).toBeNull()
  })
})
