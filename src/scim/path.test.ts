import { describe, expect, it } from 'vitest'
import { MAX_FILTER_LENGTH, type AttrPath, type Filter } from './filter/ast.ts'
import { parsePatchPath } from './path.ts'
import type { ScimError } from './errors.ts'
import { scimErrorOf } from '../../test/helpers/scim-error.ts'
import { pick, prng, randomFilter, type Grammar } from '../../test/helpers/filter-fuzz.ts'

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

// Unquoted values inside a PATCH path's value filter (issue 14): parsePatchPath with onBareValue
// takes the filter parser's rule (isBareValue), not a copy. Differential: every path the strict
// grammar accepts parses to the same tree without a report; every path it refuses is refused with
// the same error or accepted only through a reported bare word.
describe('parsePatchPath: unquoted values, against the strict parser', () => {
  const lenient = (src: string) => {
    const words: string[] = []
    try {
      return { p: parsePatchPath(src, (w) => words.push(w)), err: null as unknown, words }
    } catch (e) {
      return { p: null, err: e, words }
    }
  }
  const strict = (src: string) => {
    try {
      return { p: parsePatchPath(src), err: null as unknown }
    } catch (e) {
      return { p: null, err: e }
    }
  }
  const grammar: Grammar = {
    attrs: [
      { names: ['value', 'type', 'display', 'Value'], kind: 'string', pool: ['work', '2819c223-7f76-453a-919d-413861904646', 'a b', 'and', 'eq', '00042', '"q"'] },
      { names: ['primary'], kind: 'boolean', pool: [] },
    ],
    valuePaths: [{ name: 'nested', subs: [{ name: 'value', kind: 'string', pool: ['x'] }] }],
    dates: ['2024-01-01T00:00:00Z'],
    invalid: ['emails.type'],
  }
  const rng = prng(20261203)
  // Random value filters in random path shapes; about half of them with some string literals
  // unquoted (a literal whose text the strict grammar then refuses, or reads as a number).
  const unquote = (src: string) => src.replace(/"((?:[^"\\]|\\.)*)"/g, (m, inner: string) => (rng() < 0.5 ? inner : m))
  const random = Array.from({ length: 3_000 }, () => {
    const filter = randomFilter(rng, grammar, 0, 3)
    const path = `${pick(rng, ['emails', 'members', 'addresses', 'urn:ietf:params:scim:schemas:core:2.0:User:emails'])}[${rng() < 0.5 ? unquote(filter) : filter}]`
    return path + pick(rng, ['', '', '.value', '.display', ' x', '.'])
  })
  const fixed = ['emails[type eq work].value', 'members[value eq 2819c223-7f76-453a-919d-413861904646]', 'emails[type eq "work"].value',
    'members[value eq "2819c223"]', 'emails[type eq work and primary eq true].value', 'emails[type eq work or type eq home]', 'emails[type eq john doe]',
    'emails[type eq and]', 'emails[type eq 00042]', 'emails[type eq +5]', 'emails[type eq]', 'emails[type eq work', 'emails[type eq work].', 'userName']
  const sources = [...fixed, ...random]

  it(`${sources.length} paths: the strict grammar's answers are kept`, () => {
    let readBare = 0
    for (const src of sources) {
      const a = strict(src)
      const b = lenient(src)
      if (a.p !== null) {
        expect(b.p, src).toEqual(a.p)
        expect(b.words, src).toEqual([])
      } else if (b.p === null && b.words.length === 0) {
        expect((b.err as Error).message, src).toBe((a.err as Error).message)
      } else if (b.p === null) {
        // A bare word was read, and the path fails further on (`emails[type eq work`): still a 400.
        expect((b.err as ScimError).status, src).toBe(400)
      } else {
        expect(b.words.length, src).toBeGreaterThan(0)
        readBare++
      }
    }
    // The mutation reaches the leniency: the run is not only strict-valid paths.
    expect(readBare).toBeGreaterThan(50)
  })

  it('reads an unquoted value in a value filter as the string, and refuses the ambiguous as before', () => {
    const cases: [string, unknown, string[]][] = [
      ['emails[type eq work].value', { path: p('emails'), filter: eq('type', 'work'), subAfterFilter: 'value' }, ['work']],
      ['members[value eq 2819c223-7f76-453a-919d-413861904646]', { path: p('members'), filter: eq('value', '2819c223-7f76-453a-919d-413861904646'), subAfterFilter: null }, ['2819c223-7f76-453a-919d-413861904646']],
      [`${ENT}:manager[value eq boss]`, { path: p('manager', null, ENT), filter: eq('value', 'boss'), subAfterFilter: null }, ['boss']],
    ]
    for (const [src, tree, words] of cases) {
      const r = lenient(src)
      expect(r.p, src).toEqual(tree)
      expect(r.words, src).toEqual(words)
      expect(strict(src).err, src).toBeInstanceOf(Error)
    }
    for (const src of ['emails[type eq john doe]', 'emails[type eq and]', 'emails[type eq 00042]', 'emails[type eq pr]', 'emails[type eq]']) {
      const e = scimErrorOf(() => parsePatchPath(src, () => undefined))
      expect(e.scimType, src).toBe('invalidFilter')
    }
  })
})
