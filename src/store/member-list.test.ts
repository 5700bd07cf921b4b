import { describe, expect, it } from 'vitest'
import { decodeMemberList, encodeMemberList } from './member-list.ts'

const A = '01a2341f-0a9f-7000-8121-bcd93b4c63e4'
const B = 'ffffffff-0000-4abc-9def-0123456789ab'

describe('member lists of membership event rows', () => {
  it('stores canonical UUIDs in 17 bytes a member and reads them back with their types', () => {
    const text = encodeMemberList([{ id: A, type: 'User' }, { id: B, type: 'Group' }])
    expect(text).toHaveLength(Math.ceil((2 * 17 * 4) / 3))
    expect(decodeMemberList(text)).toEqual([[A, 'user'], [B, 'group']])
  })

  it.each([
    ['upper-case hex', A.toUpperCase()],
    ['a character that is not hex', A.replace('a', 'g')],
    ['no hyphens', A.replace(/-/g, '')],
    ['hyphens elsewhere', `${A.slice(0, 7)}-${A.slice(7, 8)}${A.slice(9)}`],
    ['an id of another kind', 'ext-member-42'],
  ])('falls back to JSON for %s, keeping the id exactly', (_what, id) => {
    const text = encodeMemberList([{ id: A, type: 'User' }, { id, type: 'User' }])
    expect(text.startsWith('[')).toBe(true)
    expect(decodeMemberList(text)).toEqual([[A, 'user'], [id, 'user']])
  })

  it('encodes an empty list', () => {
    expect(decodeMemberList(encodeMemberList([]))).toEqual([])
  })
})
