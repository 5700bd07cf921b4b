import { describe, expect, it } from 'vitest'
import { parseDeclaration } from './declared.ts'
import { userResource, withExtensions } from './registry.ts'
import { uniqueAttributes, uniqueKey, uniqueSignature, uniqueValues } from './unique.ts'
import { attr } from './types.ts'

const EXT = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User'

describe('unique declared attributes', () => {
  it('keys values as their type compares them', () => {
    expect(uniqueKey(attr('a', 'string', ''), 'ＡB-1')).toBe(uniqueKey(attr('a', 'string', ''), 'ab-1'))
    expect(uniqueKey(attr('a', 'string', '', { caseExact: true }), 'AB')).not.toBe(uniqueKey(attr('a', 'string', '', { caseExact: true }), 'ab'))
    expect(uniqueKey(attr('a', 'decimal', ''), 1)).toBe(uniqueKey(attr('a', 'decimal', ''), 1.0))
    expect(uniqueKey(attr('a', 'integer', ''), 1)).not.toBe(uniqueKey(attr('a', 'integer', ''), 2))
    const dt = attr('a', 'dateTime', '')
    expect(uniqueKey(dt, '2024-01-01T01:00:00+01:00')).toBe(uniqueKey(dt, '2024-01-01T00:00:00Z'))
    // Without an offset: UTC, whatever the server's time zone.
    expect(uniqueKey(dt, '2024-01-01T00:00:00')).toBe(uniqueKey(dt, '2024-01-01T00:00:00.000Z'))
    expect(uniqueKey(attr('a', 'boolean', ''), true)).toBe('true')
    expect(uniqueKey(attr('a', 'string', ''), 5)).toBeNull()
  })

  it('lists the top-level single-valued simple attributes declared unique, and the values a body holds', () => {
    const d = parseDeclaration({ id: EXT, attributes: [{ name: 'badge', uniqueness: 'server' }, { name: 'n', type: 'integer', uniqueness: 'global' }, { name: 'free' }] })
    const rs = withExtensions(userResource, [d], 3)
    expect(uniqueAttributes(rs).map((u) => u.attr.name)).toEqual(['badge', 'n'])
    expect(uniqueAttributes(userResource)).toEqual([])
    expect(uniqueValues(rs, { userName: 'x', [EXT]: { badge: 'B', free: 'f' } })).toEqual([{ schema: EXT, name: 'badge', key: 'b', value: 'B' }])
    expect(uniqueValues(rs, { userName: 'x' })).toEqual([])
    expect(rs.schemaVersion).toBe(3)
  })

  it('refuses uniqueness where it is not enforced: multi-valued, complex, sub-attributes', () => {
    for (const a of [
      { name: 'tags', multiValued: true, uniqueness: 'server' },
      { name: 'office', type: 'complex', uniqueness: 'server', subAttributes: [{ name: 'b' }] },
      { name: 'office', type: 'complex', subAttributes: [{ name: 'b', uniqueness: 'global' }] },
    ]) {
      expect(() => parseDeclaration({ id: EXT, attributes: [a] }), JSON.stringify(a)).toThrow(/uniqueness: must be "none"/)
    }
  })

  it('signs what decides the index: type, caseExact, resource type', () => {
    const sig = (attrs: unknown[], resourceType = 'User') => {
      const d = parseDeclaration({ id: EXT, resourceType, attributes: attrs })
      return uniqueSignature(d.resourceType, d.schema)
    }
    expect(sig([{ name: 'a', maxLength: 3 }])).toBe('')
    expect(sig([{ name: 'a', uniqueness: 'server' }])).toBe(sig([{ name: 'A', uniqueness: 'global', maxLength: 9 }]))
    expect(sig([{ name: 'a', uniqueness: 'server' }])).not.toBe(sig([{ name: 'a', uniqueness: 'server', caseExact: true }]))
    expect(sig([{ name: 'a', uniqueness: 'server' }])).not.toBe(sig([{ name: 'a', uniqueness: 'server' }], 'Group'))
  })
})
