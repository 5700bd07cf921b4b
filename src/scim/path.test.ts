import { describe, expect, it } from 'vitest'
import { MAX_FILTER_LENGTH, type AttrPath, type Filter } from './filter/ast.ts'
import { parsePatchPath } from './path.ts'
import { scimErrorOf } from '../../test/helpers/scim-error.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const p = (name: string, sub: string | null = null, uri: string | null = null): AttrPath => ({ uri, name, sub })
const eq = (name: string, value: string): Filter => ({ kind: 'compare', path: p(name), op: 'eq', value })

describe('parsePatchPath', () => {
  const ok: readonly [string, unknown][] = [
    ['userName', { path: p('userName'), filter: null, subAfterFilter: null }],
    ['name.givenName', { path: p('name', 'givenName'), filter: null, subAfterFilter: null }],
    [`${ENT}:manager`, { path: p('manager', null, ENT), filter: null, subAfterFilter: null }],
    [`${ENT}:manager.value`, { path: p('manager', 'value', ENT), filter: null, subAfterFilter: null }],
    ['members[value eq "2819c223"]', { path: p('members'), filter: eq('value', '2819c223'), subAfterFilter: null }],
    ['emails[type eq "work"].value', { path: p('emails'), filter: eq('type', 'work'), subAfterFilter: 'value' }],
    [
      'emails[type eq "work" and primary eq true].display',
      {
        path: p('emails'),
        filter: { kind: 'and', filters: [eq('type', 'work'), { kind: 'compare', path: p('primary'), op: 'eq', value: true }] },
        subAfterFilter: 'display',
      },
    ],
    ['members[not (value eq "a]b")]', { path: p('members'), filter: { kind: 'not', filter: eq('value', 'a]b') }, subAfterFilter: null }],
    [
      'urn:ietf:params:scim:schemas:core:2.0:User:emails[value pr]',
      { path: p('emails', null, 'urn:ietf:params:scim:schemas:core:2.0:User'), filter: { kind: 'present', path: p('value') }, subAfterFilter: null },
    ],
  ]
  for (const [source, expected] of ok) {
    it(`parses ${JSON.stringify(source)}`, () => {
      const path = parsePatchPath(source)
      expect(path).toEqual(expected)
      expect(Object.isFrozen(path)).toBe(true)
    })
  }

  const invalidPath = ['', '  ', 'user name', 'name.', 'a.b.c', 'emails.value[type eq "work"]', 'emails[type eq "work"]value',
    'emails[type eq "work"].', 'emails[type eq "work"].value.more', 'emails[type eq "work"].value extra', '"userName"', 'userName)', 'urn:x:']
  for (const source of invalidPath) {
    it(`rejects the malformed path ${JSON.stringify(source)} with 400 invalidPath`, () => {
      const e = scimErrorOf(() => parsePatchPath(source))
      expect(e.status).toBe(400)
      expect(e.scimType).toBe('invalidPath')
    })
  }

  const invalidFilter = ['emails[type eq]', 'emails[]', 'emails[type eq "work"', 'emails[type eq "work" or]', 'emails[type[value pr]]',
    'emails[emails.type eq "work"]', 'emails[type eq "unterminated]']
  for (const source of invalidFilter) {
    it(`rejects the malformed value filter in ${JSON.stringify(source)} with 400 invalidFilter`, () => {
      const e = scimErrorOf(() => parsePatchPath(source))
      expect(e.status).toBe(400)
      expect(e.scimType).toBe('invalidFilter')
    })
  }

  it('rejects a path longer than the filter length limit as invalidPath', () => {
    const e = scimErrorOf(() => parsePatchPath(`a${'b'.repeat(MAX_FILTER_LENGTH)}`))
    expect(e.scimType).toBe('invalidPath')
    expect(e.message.length).toBeLessThan(200)
  })

  it('rejects a value filter nested 10,000 deep before recursing', () => {
    const e = scimErrorOf(() => parsePatchPath(`members[${'('.repeat(10_000)}`))
    expect(e.scimType).toBe('invalidFilter')
    expect(e.message).toMatch(/deeper than 32/)
  })

  it('names the position and quotes only a short piece of the path', () => {
    const e = scimErrorOf(() => parsePatchPath(`emails[type eq "work"]${'x'.repeat(1000)}`))
    expect(e.message).toContain('position 22')
    expect(e.message.length).toBeLessThan(150)
  })
})
