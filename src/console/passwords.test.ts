import { describe, expect, it } from 'vitest'
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './passwords.ts'

describe('console passwords', () => {
  it('hashes with scrypt at OWASP parameters and a random salt; verifies the password and nothing else', async () => {
    const a = await hashPassword('correct horse battery staple')
    const b = await hashPassword('correct horse battery staple')
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    expect(a).not.toBe(b)
    expect(await verifyPassword('correct horse battery staple', a)).toBe(true)
    expect(await verifyPassword('correct horse battery stapl', a)).toBe(false)
    expect(await verifyPassword('correct horse battery staple', DUMMY_HASH)).toBe(false)
    expect(await verifyPassword('x', 'md5$abc')).toBe(false)
  })

  it('asks for 12 to 128 characters, counted as code points', () => {
    expect(passwordProblem('short')).toMatch(/at least 12/)
    expect(passwordProblem('🔑'.repeat(12))).toBeNull()
    expect(passwordProblem('a'.repeat(129))).toMatch(/at most 128/)
    expect(passwordProblem(42)).toMatch(/text/)
  })
})
