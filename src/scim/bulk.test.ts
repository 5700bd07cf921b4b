import { describe, expect, it } from 'vitest'
import { BULK_REQUEST_SCHEMA, parseBulkRequest, planBulk, resolveBulkIds } from './bulk.ts'
import { scimErrorOf } from '../../test/helpers/scim-error.ts'

const req = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST_SCHEMA], ...extra, Operations })
const post = (bulkId: string, data: unknown = {}) => ({ method: 'POST', path: '/Groups', bulkId, data })

describe('parseBulkRequest', () => {
  it('reads operations, their bulkId references in paths and data, and failOnErrors', () => {
    const r = parseBulkRequest(req([
      post('g', { members: [{ value: 'bulkId:u' }, { value: 'plain' }], nested: { deep: ['bulkId:v'] } }),
      { method: 'patch', path: '/Users/bulkId:u', version: 'W/"1"', data: { Operations: [] } },
      { method: 'DELETE', path: '/Groups/abc' },
    ], { failOnErrors: 2 }), 10)
    expect(r.failOnErrors).toBe(2)
    expect(r.operations.map((o) => [o.method, o.endpoint, o.id, o.refs, o.error])).toEqual([
      ['POST', 'Groups', null, ['u', 'v'], null], ['PATCH', 'Users', 'bulkId:u', ['u'], null], ['DELETE', 'Groups', 'abc', [], null],
    ])
    expect(r.operations[1]?.version).toBe('W/"1"')
  })

  it('makes a malformed operation that operation\'s error, and a malformed request a 400 or 413', () => {
    const r = parseBulkRequest(req([{ method: 'GET', path: '/Users' }, { method: 'POST', path: '/Users', data: {} }, { method: 'PUT', path: '/Users', data: {} }, { method: 'POST', path: '/Widgets', bulkId: 'w', data: {} }, 'x', { method: 'DELETE', path: '/Users/1', data: {} }]), 10)
    expect(r.operations.map((o) => o.error?.scimType)).toEqual(['invalidSyntax', 'invalidSyntax', 'invalidSyntax', 'invalidSyntax', 'invalidSyntax', 'invalidSyntax'])
    expect(scimErrorOf(() => parseBulkRequest(req([post('a'), post('b')]), 1))).toMatchObject({ status: 413, scimType: 'tooMany' })
    expect(scimErrorOf(() => parseBulkRequest({ Operations: [] }, 1)).scimType).toBe('invalidSyntax')
    expect(scimErrorOf(() => parseBulkRequest(req([post('a'), post('a')]), 5)).scimType).toBe('invalidValue')
    expect(scimErrorOf(() => parseBulkRequest(req([], { failOnErrors: 1.5 }), 5)).scimType).toBe('invalidValue')
  })
})

describe('planBulk', () => {
  it('runs each operation after those it refers to, else in request order', () => {
    const r = parseBulkRequest(req([post('g', { m: 'bulkId:b' }), post('a'), post('b', { m: 'bulkId:a' }), post('c')]), 10)
    expect(planBulk(r.operations)).toEqual({ order: [1, 2, 0, 3], circular: new Set() })
  })

  it('sets circular references, and what waits on them, apart', () => {
    const r = parseBulkRequest(req([post('x', { m: 'bulkId:y' }), post('y', { m: 'bulkId:x' }), post('z', { m: 'bulkId:x' }), post('s', { m: 'bulkId:s' }), post('free')]), 10)
    const plan = planBulk(r.operations)
    expect(plan.order).toEqual([4])
    expect([...plan.circular].sort()).toEqual([0, 1, 2, 3])
  })
})

describe('resolveBulkIds', () => {
  it('replaces known references, copies on write, and leaves the rest', () => {
    const data = { members: [{ value: 'bulkId:u' }, { value: 'bulkId:unknown' }], other: { x: 1 } }
    const out = resolveBulkIds(data, new Map([['u', 'id-1']])) as typeof data
    expect(out).toEqual({ members: [{ value: 'id-1' }, { value: 'bulkId:unknown' }], other: { x: 1 } })
    expect(out.other).toBe(data.other)
    expect(data.members[0]?.value).toBe('bulkId:u')
    const same = { a: ['x'] }
    expect(resolveBulkIds(same, new Map())).toBe(same)
  })
})
