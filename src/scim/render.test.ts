import { describe, expect, it } from 'vitest'
import { renderResource, renderResourceJson, type RenderableRow } from './render.ts'
import { groupResource, userResource } from './schema/registry.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const base = { id: '0189abcd-0000-7000-8000-000000000001', version: 3, created: '2026-01-01T00:00:00.000Z', lastModified: '2026-01-02T00:00:00.000Z' }

function both(body: Record<string, unknown>): RenderableRow[] {
  return [{ ...base, body }, { ...base, body, json: JSON.stringify(body) }]
}

describe('renderResourceJson', () => {
  const bodies: Record<string, unknown>[] = [
    {},
    { userName: 'a@example.com' },
    { userName: 'a@example.com', name: { givenName: 'A' }, [ENT]: { department: 'R&D' } },
    { userName: 'quote"s and \\ and \u2028', title: `"${ENT}": not a key` },
  ]
  it.each(bodies.map((b) => [JSON.stringify(b), b]))('splices the stored text exactly as JSON.stringify(renderResource) renders %s', (_, body) => {
    for (const row of both(body as Record<string, unknown>)) {
      for (const refs of [undefined, [], [{ value: 'g1', display: 'G' }]]) {
        expect(renderResourceJson(userResource, row, 'https://x/scim/v2', refs)).toBe(JSON.stringify(renderResource(userResource, row, 'https://x/scim/v2', refs)))
      }
    }
  })

  it('writes ids, instants, URLs and versions as JSON.stringify does, whatever their characters', () => {
    const odd = ['a"b', 'back\\slash', 'ünï', 'tab\there', '\u2028', '\ud800', '']
    for (const id of [base.id, ...odd]) {
      for (const baseUrl of ['https://x/scim/v2', 'https://x/"q"/ü']) {
        for (const version of [3, 0, -1, 2.5]) {
          for (const created of [base.created, 'not "an" instant']) {
            const row = { ...base, id, version, created, body: { userName: 'a' }, json: '{"userName":"a"}' }
            expect(renderResourceJson(userResource, row, baseUrl, [])).toBe(JSON.stringify(renderResource(userResource, row, baseUrl, [])))
            expect(renderResourceJson(groupResource, row, baseUrl, [])).toBe(JSON.stringify(renderResource(groupResource, row, baseUrl, [])))
          }
        }
      }
    }
  })

  it('renders group members the same way', () => {
    for (const row of both({ displayName: 'G', externalId: 'e' })) {
      const refs = [{ value: 'u1', display: 'U', type: 'User' }, { value: 'g2', display: null, type: 'Group' }]
      expect(renderResourceJson(groupResource, row, 'https://x/scim/v2', refs)).toBe(JSON.stringify(renderResource(groupResource, row, 'https://x/scim/v2', refs)))
    }
  })

  it('writes many members and groups, odd displays included, exactly as JSON.stringify would', () => {
    const odd = ['quote " and \\', '\u2028 line', 'émoji 😀', '']
    const members = Array.from({ length: 2_000 }, (_, i) => ({ value: `m${i}`, display: i % 5 === 0 ? null : odd[i % odd.length], type: i % 7 === 0 ? 'Group' : 'User' }))
    const groups = Array.from({ length: 50 }, (_, i) => ({ value: `g${i}`, display: i % 3 === 0 ? undefined : i % 3 === 1 ? null : odd[i % odd.length] }))
    for (const row of both({ displayName: 'G' })) {
      expect(renderResourceJson(groupResource, row, 'https://x/scim/v2', members)).toBe(JSON.stringify(renderResource(groupResource, row, 'https://x/scim/v2', members)))
    }
    for (const row of both({ userName: 'u@example.com' })) {
      expect(renderResourceJson(userResource, row, 'https://x/scim/v2', groups)).toBe(JSON.stringify(renderResource(userResource, row, 'https://x/scim/v2', groups)))
    }
  })
})
