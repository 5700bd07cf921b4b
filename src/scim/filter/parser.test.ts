import { describe, expect, it } from 'vitest'
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS, type Filter } from './ast.ts'
import cases from './cases.json' with { type: 'json' }
import { parseAttrPath, parseFilter } from './parser.ts'
import { scimErrorOf } from '../../../test/helpers/scim-error.ts'
import { prng, randomFilter, type Grammar } from '../../../test/helpers/filter-fuzz.ts'

interface Row {
  readonly source: string
  readonly ast?: unknown
  readonly error?: string
  /** A piece the error detail must contain (case-insensitive). */
  readonly detail?: string
}

function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen)
}


describe('parseFilter: cases.json', () => {
  for (const row of cases as readonly Row[]) {
    if (row.error !== undefined) {
      it(`rejects ${JSON.stringify(row.source)} with 400 ${row.error}`, () => {
        const e = scimErrorOf(() => parseFilter(row.source))
        expect(e.status).toBe(400)
        expect(e.scimType).toBe(row.error)
        if (row.detail !== undefined) expect(e.message.toLowerCase()).toContain(row.detail.toLowerCase())
      })
    } else {
      it(`parses ${JSON.stringify(row.source)}`, () => {
        const f = parseFilter(row.source)
        expect(f).toEqual(row.ast)
        expect(isDeepFrozen(f)).toBe(true)
      })
    }
  }
})

describe('parseFilter: limits', () => {
  it(`accepts nesting of exactly ${MAX_FILTER_DEPTH} parentheses`, () => {
    const f = parseFilter(`${'('.repeat(MAX_FILTER_DEPTH)}userName pr${')'.repeat(MAX_FILTER_DEPTH)}`)
    expect(f.kind).toBe('present')
  })

  it(`rejects nesting of ${MAX_FILTER_DEPTH + 1} parentheses`, () => {
    const e = scimErrorOf(() => parseFilter(`${'('.repeat(MAX_FILTER_DEPTH + 1)}userName pr${')'.repeat(MAX_FILTER_DEPTH + 1)}`))
    expect(e.scimType).toBe('invalidFilter')
    expect(e.message).toContain(`position ${MAX_FILTER_DEPTH}`)
  })

  it('rejects 10,000 nested "(" before recursing', () => {
    // 20,015 characters: over the length limit as well; the unclosed run below is within it.
    const src = `${'('.repeat(10_000)}userName eq "x"${')'.repeat(10_000)}`
    expect(scimErrorOf(() => parseFilter(src)).scimType).toBe('invalidFilter')
  })

  it('rejects 10,000 nested "not (" before recursing', () => {
    const src = `${'not ('.repeat(10_000)}userName eq "x"${')'.repeat(10_000)}`
    expect(scimErrorOf(() => parseFilter(src)).scimType).toBe('invalidFilter')
    // Within the length limit, the linear bracket pre-scan is what rejects it.
    const short = `${'not ('.repeat(3_000)}userName eq "x"`
    expect(short.length).toBeLessThan(MAX_FILTER_LENGTH)
    expect(scimErrorOf(() => parseFilter(short)).message).toMatch(/deeper than 32 levels at position 164/)
  })

  it('rejects an unclosed run of 10,000 "(" too', () => {
    expect(scimErrorOf(() => parseFilter('('.repeat(10_000))).message).toMatch(/deeper than 32/)
  })

  it('does not count brackets inside string literals towards the depth', () => {
    const f = parseFilter(`title eq "${'(['.repeat(100)}\\"${')]'.repeat(100)}"`)
    expect(f).toEqual({ kind: 'compare', path: { uri: null, name: 'title', sub: null }, op: 'eq', value: `${'(['.repeat(100)}"${')]'.repeat(100)}` })
  })

  it('counts value-filter brackets towards the depth', () => {
    const inner = `${'('.repeat(MAX_FILTER_DEPTH - 1)}type eq "work"${')'.repeat(MAX_FILTER_DEPTH - 1)}`
    expect(parseFilter(`emails[${inner}]`).kind).toBe('valuePath')
    expect(scimErrorOf(() => parseFilter(`emails[(${inner})]`)).message).toMatch(/deeper than 32/)
  })

  it(`accepts an "or" of ${MAX_FILTER_TERMS} terms as one shallow n-ary node`, () => {
    const f = parseFilter(Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `id eq "${i}"`).join(' or '))
    expect(f.kind).toBe('or')
    expect((f as Extract<Filter, { kind: 'or' }>).filters).toHaveLength(MAX_FILTER_TERMS)
  })

  it(`rejects an "or" of ${MAX_FILTER_TERMS + 1} terms`, () => {
    const e = scimErrorOf(() => parseFilter(Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => `id eq "${i}"`).join(' or ')))
    expect(e.scimType).toBe('invalidFilter')
    expect(e.message).toContain(`more than ${MAX_FILTER_TERMS}`)
  })

  it('counts comparisons inside value filters and under not', () => {
    const half = Array.from({ length: MAX_FILTER_TERMS / 2 }, (_, i) => `value eq ${i}`).join(' or ')
    expect(parseFilter(`emails[${half}] or not (emails[${half}])`).kind).toBe('or')
    expect(scimErrorOf(() => parseFilter(`emails[${half}] or not (emails[${half}]) or id pr`)).scimType).toBe('invalidFilter')
  })

  it(`rejects a filter longer than ${MAX_FILTER_LENGTH} characters before parsing it`, () => {
    const src = `title eq "${'x'.repeat(MAX_FILTER_LENGTH)}"`
    const e = scimErrorOf(() => parseFilter(src))
    expect(e.scimType).toBe('invalidFilter')
    expect(e.message).toContain(String(MAX_FILTER_LENGTH))
    expect(e.message.length).toBeLessThan(200)
  })

  it(`accepts a filter of exactly ${MAX_FILTER_LENGTH} characters`, () => {
    const src = `title eq "${'x'.repeat(MAX_FILTER_LENGTH - 11)}"`
    expect(src).toHaveLength(MAX_FILTER_LENGTH)
    expect(parseFilter(src).kind).toBe('compare')
  })
})

describe('parseFilter: error details', () => {
  it('quotes only a short piece of the input, never the whole of it', () => {
    const long = `userName eq "x" ${'garbage'.repeat(500)}`
    const e = scimErrorOf(() => parseFilter(long))
    expect(e.message).toContain('position 16')
    expect(e.message.length).toBeLessThan(120)
    expect(e.message).not.toContain('garbage'.repeat(5))
  })

  it('says what was expected and where', () => {
    expect(scimErrorOf(() => parseFilter('userName xx "a"')).message).toBe(
      'Expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) at position 9, found "xx \\"a\\""',
    )
    expect(scimErrorOf(() => parseFilter('userName eq')).message).toBe('Expected a value (a string, a number, true, false or null) at position 11, found end of input')
  })
})

describe('parseAttrPath', () => {
  it('parses a name, a sub-attribute and a schema-qualified name split at the last colon', () => {
    expect(parseAttrPath('userName')).toEqual({ uri: null, name: 'userName', sub: null })
    expect(parseAttrPath(' name.familyName ')).toEqual({ uri: null, name: 'name', sub: 'familyName' })
    expect(parseAttrPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName')).toEqual({
      uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', name: 'manager', sub: 'displayName',
    })
    expect(Object.isFrozen(parseAttrPath('userName'))).toBe(true)
  })

  it('reads a bare schema URN as its last segment, for the caller to recognise', () => {
    expect(parseAttrPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User')).toEqual({
      uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0', name: 'User', sub: null,
    })
  })

  it('rejects malformed paths with 400 invalidValue unless told otherwise', () => {
    for (const bad of ['', ' ', 'user name', 'name.', '.name', 'a.b.c', 'emails[type eq "work"]', '"userName"', '1st', 'urn:x:']) {
      const e = scimErrorOf(() => parseAttrPath(bad))
      expect(e.status).toBe(400)
      expect(e.scimType).toBe('invalidValue')
    }
    expect(scimErrorOf(() => parseAttrPath('a b', 'invalidFilter')).scimType).toBe('invalidFilter')
  })
})

// Unquoted values (issue 14): with onBareValue, a bare word where only a string can be meant is
// read as that string. Differential: every filter the strict grammar accepts (cases.json and
// thousands of random ones) parses to the same tree, without a report; every filter it refuses
// is either refused the same way or accepted only through a reported bare word.
describe('parseFilter: unquoted values, against the strict parser', () => {
  const lenient = (src: string) => {
    const words: string[] = []
    let f: Filter | null = null
    let err: unknown = null
    try {
      f = parseFilter(src, (w) => words.push(w))
    } catch (e) {
      err = e
    }
    return { f, err, words }
  }
  const strict = (src: string): { f: Filter | null; err: unknown } => {
    try {
      return { f: parseFilter(src), err: null }
    } catch (e) {
      return { f: null, err: e }
    }
  }
  const grammar: Grammar = {
    attrs: [
      { names: ['userName', 'name.familyName', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value'], kind: 'string', pool: ['Employee', 'a b', 'and', 'or', '"q"', '(x)'] },
      { names: ['active'], kind: 'boolean', pool: [] },
      { names: ['meta.created'], kind: 'dateTime', pool: [] },
      { names: ['name'], kind: 'complex', pool: [] },
    ],
    valuePaths: [{ name: 'emails', subs: [{ name: 'value', kind: 'string', pool: ['x@y'] }, { name: 'primary', kind: 'boolean', pool: [] }] }],
    dates: ['2024-01-01T00:00:00Z'],
    invalid: ['nope'],
  }
  const rng = prng(20261202)
  const sources = [...(cases as readonly Row[]).map((r) => r.source), ...Array.from({ length: 3_000 }, () => randomFilter(rng, grammar))]

  it(`${sources.length} filters: the strict grammar's answers are kept`, () => {
    for (const src of sources) {
      const a = strict(src)
      const b = lenient(src)
      if (a.f !== null) {
        expect(b.f, src).toEqual(a.f)
        expect(b.words, src).toEqual([])
      } else if (b.f === null) {
        expect((b.err as Error).message, src).toBe((a.err as Error).message)
      } else {
        expect(b.words.length, src).toBeGreaterThan(0)
      }
    }
  })

  it('reads bare words as strings where nothing else is meant, and refuses the ambiguous', () => {
    const ok: [string, string][] = [
      ['name.familyName eq Employee', 'Employee'],
      ['externalId eq 5f2b9c1e-0d6a-4c1e-9a57-3c9b2f0e7d11', '5f2b9c1e-0d6a-4c1e-9a57-3c9b2f0e7d11'],
      ['(userName eq bjensen)', 'bjensen'],
      ['emails[value eq a@x.com]', 'a@x.com'],
    ]
    for (const [src, word] of ok) {
      const r = lenient(src)
      expect(r.words, src).toEqual([word])
      expect(JSON.stringify(r.f), src).toContain(JSON.stringify(word))
    }
    const both = lenient('name.familyName eq Employee and userName ne bob or active eq true')
    expect(both.words).toEqual(['Employee', 'bob'])
    for (const src of ['userName eq john doe', 'userName eq and', 'userName eq eq', 'externalId eq 00042', 'externalId eq +5', 'userName eq pr', 'userName eq']) {
      expect(lenient(src).err, src).toBeInstanceOf(Error)
    }
  })
})
