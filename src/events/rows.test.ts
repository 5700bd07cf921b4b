// How stored rows become events: a user event's row holds the user without its default fields,
// its orgId or the envelope (build.ts), and reading makes the whole event again; a row written
// before that holds the whole event and is served as it is.
import { describe, expect, it } from 'vitest'
import { apiUser } from '../directory/shape.ts'
import type { OrgId, StoredEvents, UserRow } from '../store/store.ts'
import { userCreated } from './build.ts'
import { expand } from './rows.ts'

const ORG = '01a2341f-0749-7000-a1aa-ce25deaca2c2' as OrgId
const user: UserRow = {
  id: '01a2341f-0a9f-7000-8121-bcd93b4c63e4', version: 1, created: '2026-12-02T00:00:00.000Z', lastModified: '2026-12-02T00:00:00.000Z',
  body: { userName: 'ada@example.com', emails: [{ value: 'ada@example.com', type: 'work', primary: true }], active: true },
  directory: { managedBy: 'scim', identityProvider: null, customAttributes: null, pending: true, metadata: null },
}

function stored(payload: string, id: string, type = 'user.created'): StoredEvents {
  return { orgId: ORG, position: 7, count: 1, id, type, resourceId: user.id, lane: user.id, at: '2026-12-02T00:00:00.000Z', payload, members: null }
}

describe('event rows', () => {
  it('stores a user event compactly and reads it back whole: the envelope, every field with its default, and orgId', () => {
    const e = userCreated({ orgId: ORG, at: '2026-12-02T00:00:00.000Z', newId: () => 'evt-1' }, user)
    expect(e.payload).not.toContain('orgId')
    expect(e.payload).not.toContain('null')
    expect(e.payload).not.toContain('"type":"user.created"')
    const [read] = expand(stored(e.payload, e.id))
    const whole = JSON.parse(read?.payload ?? '') as Record<string, unknown>
    expect(whole).toEqual({ id: 'evt-1', type: 'user.created', timestamp: '2026-12-02T00:00:00.000Z', data: { ...apiUser(user), orgId: ORG } })
    expect(Object.keys(whole.data as object)).toEqual([...Object.keys(apiUser(user)), 'orgId'])
    expect(e.payload.length).toBeLessThan((read?.payload.length ?? 0) * 0.75)
  })

  it('serves a row that holds the whole event (written before rows were compact) as it is', () => {
    const whole = `{"id":"evt-2","type":"user.created","timestamp":"2026-12-02T00:00:00.000Z","data":${JSON.stringify({ ...apiUser(user), orgId: ORG })}}`
    expect(expand(stored(whole, 'evt-2'))[0]?.payload).toBe(whole)
  })
})
