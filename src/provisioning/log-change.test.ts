import { describe, expect, it } from 'vitest'
import { changeRecord, memberChange } from './log-change.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

describe('changeRecord', () => {
  it('keeps only changed top-level attributes, an extension\'s attributes one by one', () => {
    const before = { userName: 'a', displayName: 'A', [ENT]: { department: 'R&D', costCenter: '1' } }
    const after = { userName: 'a', nickName: 'n', [ENT]: { department: 'Ops', costCenter: '1' } }
    expect(JSON.parse(changeRecord({ resourceType: 'User', resourceId: 'u', before, after }) ?? 'null')).toEqual({
      before: { [`${ENT}:department`]: 'R&D', displayName: 'A' },
      after: { nickName: 'n', [`${ENT}:department`]: 'Ops' },
    })
    expect(changeRecord({ resourceType: 'User', resourceId: 'u', before, after: before })).toBeNull()
  })

  it('redacts secret-looking names at any depth and bounds large values', () => {
    const after = { 'urn:x:custom:apiToken': 't0k', x509Certificates: Array.from({ length: 20 }, () => ({ value: 'c'.repeat(200) })), nickName: 'n'.repeat(1_000), extra: { clientSecret: 's3cr3t', keep: 1 } }
    const text = changeRecord({ resourceType: 'User', resourceId: 'u', before: null, after, secrets: ['password'] }) ?? ''
    expect(text).not.toMatch(/t0k|s3cr3t|c{300}/)
    expect(text.length).toBeLessThan(1_500)
    const r = JSON.parse(text) as { after: Record<string, unknown>; redacted: string[] }
    expect(r.redacted).toEqual(['password'])
    expect(r.after['urn:x:custom:apiToken']).toBe('[redacted]')
    expect(r.after.x509Certificates).toEqual({ truncated: true, jsonChars: expect.any(Number) })
    expect(r.after.extra).toEqual({ clientSecret: '[redacted]', keep: 1 })
    expect(String(r.after.nickName)).toHaveLength(257)
  })

  it('redacts inside arrays and nested objects, and writes values with nothing to redact as they are', () => {
    const deep = { a: [{ b: { c: [{ privateKey: 'pk', d: 'x'.repeat(300) }] } }] }
    const dated = { when: { toJSON: () => ({ sessionToken: 'tok' }) } }
    const plain = { name: { givenName: 'Ada', familyName: 'Lovelace' }, emails: [{ value: 'ada@example.com', primary: true }], n: 1.5, none: null }
    const r = JSON.parse(changeRecord({ resourceType: 'User', resourceId: 'u', before: null, after: { deep, dated, ...plain } }) ?? '') as { after: Record<string, unknown> }
    expect(r.after.deep).toEqual({ a: [{ b: { c: [{ privateKey: '[redacted]', d: `${'x'.repeat(256)}…` }] } }] })
    expect(r.after.dated).toEqual({ when: { sessionToken: '[redacted]' } })
    for (const [k, v] of Object.entries(plain)) expect(r.after[k]).toEqual(v)
  })

  it('a membership change is counts and at most 20 ids each way', () => {
    const add = Array.from({ length: 500 }, (_, i) => ({ value: `m${i}` }))
    const m = memberChange({ replaceAll: null, add, remove: ['x', 'y'], removeAll: false }, { added: add.map((a) => ({ id: a.value, type: 'User' as const })), removed: [{ id: 'x', type: 'User' }] })
    expect(m).toEqual({ added: 500, removed: 1, replaced: false, addIds: add.slice(0, 20).map((a) => a.value), removeIds: ['x', 'y'] })
  })
})
