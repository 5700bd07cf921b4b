import { describe, expect, it } from 'vitest'
import { uuidV7At, uuidV7Floor, uuidV7Generator, uuidV7Ms } from './ids.ts'

describe('uuidV7Generator', () => {
  it('makes RFC 9562 version-7 UUIDs carrying the millisecond timestamp', () => {
    const id = uuidV7Generator(() => 0x0189_abcd_ef01)()
    expect(id).toMatch(/^0189abcd-ef01-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('is strictly increasing within one millisecond and across a clock that steps back', () => {
    let t = 1_700_000_000_000
    const next = uuidV7Generator(() => t)
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) {
      if (i === 5_000) t -= 10
      ids.push(next())
    }
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe('uuidV7At and uuidV7Floor', () => {
  it('ids of a millisecond sort at or above its floor and below the next one', () => {
    const at = uuidV7At()
    const t = 1_700_000_000_123
    const ids = Array.from({ length: 100 }, () => at(t))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(100)
    for (const id of ids) {
      expect(id >= uuidV7Floor(t)).toBe(true)
      expect(id < uuidV7Floor(t + 1)).toBe(true)
      expect(uuidV7Ms(id)).toBe(t)
    }
    expect(at(t - 5) < uuidV7Floor(t)).toBe(true)
  })
})
