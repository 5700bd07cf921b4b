// filter-to-sql compiled, not run: the SQL text and parameters per dialect (the rows each filter
// finds are test/e2e/filter-differential.test.ts's business). Kysely instances here only compile.
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely'
import { describe, expect, it } from 'vitest'
import { ScimError } from '../../scim/errors.ts'
import { compileFilter } from '../../scim/filter/evaluate.ts'
import { parseFilter } from '../../scim/filter/parser.ts'
import { groupResource, userResource, type ResourceSchema } from '../../scim/schema/registry.ts'
import { postgresSql } from '../dialect/postgres-sql.ts'
import { sqliteSql } from '../dialect/sqlite-sql.ts'
import type { SqlDialect } from '../dialect/sql-dialect.ts'
import { prefixUpperBound } from './filter-compare.ts'
import { filterToSql } from './filter-to-sql.ts'
import type { Database } from './schema.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const ORG = 'org-0001'

const never = async (): Promise<never> => {
  throw new Error('compile only')
}

const DIALECTS: readonly { name: 'sqlite' | 'postgres'; sql: SqlDialect; db: Kysely<Database> }[] = [
  { name: 'sqlite', sql: sqliteSql, db: new Kysely<Database>({ dialect: new SqliteDialect({ database: never }) }) },
  { name: 'postgres', sql: postgresSql, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: never }) }) },
]

type Dialect = (typeof DIALECTS)[number]

function compile(d: Dialect, filter: string, rs: ResourceSchema = userResource): { sql: string; parameters: readonly unknown[] } {
  const expr = filterToSql({ rs, dialect: d.sql, orgId: ORG, alias: 't' }, parseFilter(filter))
  const table = rs === userResource ? 'users as t' : 'groups as t'
  return d.db.selectFrom(table as 'users as t').selectAll().where(expr as never).compile()
}

function placeholders(d: Dialect, text: string): number {
  return d.name === 'sqlite' ? (text.match(/\?/g) ?? []).length : new Set(text.match(/\$\d+/g) ?? []).size
}

function compileError(d: Dialect, filter: string, rs: ResourceSchema = userResource): ScimError | null {
  try {
    compile(d, filter, rs)
    return null
  } catch (e) {
    if (e instanceof ScimError) return e
    throw e
  }
}

function evaluatorRefuses(filter: string, rs: ResourceSchema): boolean {
  try {
    compileFilter(rs, parseFilter(filter))
    return false
  } catch {
    return true
  }
}

// One attribute of each kind the compiler knows: indexed column, side table, JSON scalar,
// JSON sub-attribute, extension attribute, multi-valued JSON, boolean, dateTime.
const ATTRS: readonly { path: string; rs: ResourceSchema; kind: 'string' | 'boolean' | 'dateTime' }[] = [
  { path: 'userName', rs: userResource, kind: 'string' },
  { path: 'externalId', rs: userResource, kind: 'string' },
  { path: 'id', rs: userResource, kind: 'string' },
  { path: 'displayName', rs: userResource, kind: 'string' },
  { path: 'active', rs: userResource, kind: 'boolean' },
  { path: 'meta.created', rs: userResource, kind: 'dateTime' },
  { path: 'emails', rs: userResource, kind: 'string' },
  { path: 'emails.value', rs: userResource, kind: 'string' },
  { path: 'emails.type', rs: userResource, kind: 'string' },
  { path: 'emails.primary', rs: userResource, kind: 'boolean' },
  { path: 'title', rs: userResource, kind: 'string' },
  { path: 'name.familyName', rs: userResource, kind: 'string' },
  { path: `${ENT}:department`, rs: userResource, kind: 'string' },
  { path: `${ENT}:manager.value`, rs: userResource, kind: 'string' },
  { path: 'phoneNumbers.value', rs: userResource, kind: 'string' },
  { path: 'groups.value', rs: userResource, kind: 'string' },
  { path: 'displayName', rs: groupResource, kind: 'string' },
  { path: 'members.value', rs: groupResource, kind: 'string' },
  { path: 'members.type', rs: groupResource, kind: 'string' },
]
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr'] as const
// LIKE metacharacters, a quote and a comment opener: only ever a parameter.
const SENTINEL = "Zq%_\\'--Sentinel"

describe.each(DIALECTS)('filterToSql on $name', (d) => {
  const cases = ATTRS.flatMap((a) => OPS.map((op) => ({ ...a, op })))

  it.each(cases)('$path $op ($rs.kind): values bound, no LIKE, accepted exactly when the evaluator accepts', ({ path, rs, kind, op }) => {
    const value = kind === 'boolean' ? 'true' : kind === 'dateTime' ? '"2024-01-02T03:04:05+01:00"' : JSON.stringify(SENTINEL)
    const filter = op === 'pr' ? `${path} pr` : `${path} ${op} ${value}`
    const error = compileError(d, filter, rs)
    expect(error === null, `${filter}: ${error?.message ?? 'accepted'}`).toBe(!evaluatorRefuses(filter, rs))
    if (error) {
      expect([error.status, error.scimType]).toEqual([400, 'invalidFilter'])
      return
    }
    const c = compile(d, filter, rs)
    expect(c.sql).not.toMatch(/\blike\b/i)
    expect(c.sql).not.toMatch(/sentinel|2024-01/i)
    expect(placeholders(d, c.sql)).toBe(d.name === 'sqlite' ? c.parameters.length : new Set(c.parameters.map((_, i) => i)).size)
    if (op === 'pr') return
    if (kind === 'dateTime') expect(c.parameters).toContain('2024-01-02T02:04:05.000Z')
    else if (kind === 'boolean') expect(c.parameters).toContain(d.name === 'sqlite' ? 1 : true)
    else expect(c.parameters.some((p) => typeof p === 'string' && p.toLowerCase() === SENTINEL.toLowerCase())).toBe(true)
  })

  it('folds the literal for a case-insensitive attribute and keeps it for a case-exact one', () => {
    expect(compile(d, 'userName eq "ALICE@Example.com"').parameters).toEqual(['alice@example.com'])
    expect(compile(d, 'userName eq "ＡＬＩＣＥ"').parameters).toContain('alice')
    expect(compile(d, 'externalId eq "AbC"').parameters).toContain('AbC')
    expect(compile(d, 'id eq "AbC"').parameters).toContain('AbC')
    expect(compile(d, 'members.value eq "AbC"', groupResource).parameters).toContain('AbC')
    expect(compile(d, 'title eq "ÉTÉ"').parameters).toContain('été')
  })

  it('userName compares the folded column; displayName folds in SQL', () => {
    const u = compile(d, 'userName eq "x"')
    expect(u.sql).toContain('"t"."user_name_folded" = ')
    expect(u.sql).not.toMatch(/roster_fold|lower\(/)
    const dn = compile(d, 'displayName eq "x"')
    expect(dn.sql).toContain(d.name === 'sqlite' ? 'roster_fold("t"."display_name")' : 'lower(normalize("t"."display_name", NFKC) collate "und-x-icu")')
  })

  it('userName sw "x" is a range of the code-point-ordered index on both databases', () => {
    const c = compile(d, 'userName sw "x"')
    if (d.name === 'sqlite') {
      expect(c.sql).toContain('("t"."user_name_folded" >= ? and "t"."user_name_folded" < ?)')
    } else {
      expect(c.sql).toContain('("t"."user_name_folded" collate "C" >= $1 and "t"."user_name_folded" collate "C" < $2)')
    }
    expect(c.parameters).toEqual(['x', 'y'])
  })

  it('co, sw and ew use substring functions, and "" means present', () => {
    const fn = d.name === 'sqlite' ? ['instr(', 'substr('] : ['strpos(', 'right(']
    expect(compile(d, 'title co "%"').sql).toContain(fn[0])
    expect(compile(d, 'title ew "_"').sql).toContain(fn[1])
    const empty = compile(d, 'title co ""')
    expect(empty.sql).toContain("<> ''")
    expect(empty.parameters).not.toContain('')
  })

  it('orders strings by code point: collate "C" on PostgreSQL', () => {
    const c = compile(d, 'title gt "b" and userName le "c" and meta.created lt "2024-01-01T00:00:00Z"')
    expect((c.sql.match(/collate "C"/g) ?? []).length).toBe(d.name === 'postgres' ? 3 : 0)
  })

  it('emails.value uses the email index; other email sub-attributes read the body', () => {
    const v = compile(d, 'emails.value eq "A@x"')
    expect(v.sql).toContain('from user_emails as e')
    expect(v.sql).not.toMatch(/json_each|jsonb_array_elements/)
    expect(v.parameters).toEqual([ORG, 'a@x'])
    const t = compile(d, 'emails.type eq "work"')
    expect(t.sql).not.toContain('user_emails')
    expect(t.sql).toMatch(/json_each|jsonb_array_elements/)
    // The index narrows; the body decides the element's type.
    const both = compile(d, 'emails[type eq "work" and value eq "a@x"]')
    expect(both.sql).toContain('from user_emails as e')
    expect(both.sql).toMatch(/json_each|jsonb_array_elements/)
    // "" and ordering below a value hold for elements the index does not hold.
    for (const f of ['emails.value eq ""', 'emails.value lt "b"', 'emails[not (value eq "x")]']) expect(compile(d, f).sql).not.toContain('user_emails')
  })

  it('x eq null is not (x pr), on multi-valued and complex attributes too', () => {
    for (const f of ['emails.type eq null', 'emails eq null', 'name eq null', `${ENT}:manager eq null`]) {
      const c = compile(d, f)
      expect(c.sql, f).toMatch(/\(not /)
      expect(c.parameters, f).not.toContain(null)
    }
    expect(compile(d, 'emails.type eq null').sql).not.toContain('user_emails')
    expect(compileError(d, 'title gt null')?.scimType).toBe('invalidFilter')
  })

  it('active reads the body, not the column that holds 1 for an absent active', () => {
    const c = compile(d, 'active eq true')
    expect(c.sql).not.toContain('"t"."active"')
    expect(c.sql).toMatch(/json_type|jsonb_typeof/)
  })

  it('membership filters read group_members with the organization bound', () => {
    // SQLite keeps membership ids as 16-byte keys: `eq` searches the key, then checks the text.
    const keyed = d.name === 'sqlite'
    const g = compile(d, 'groups.value eq "G1"')
    expect(g.sql).toContain('from group_members as m')
    expect(g.parameters).toEqual(keyed ? [ORG, 'G1', 'G1'] : [ORG, 'G1'])
    const m = compile(d, 'members[type eq "Group" and value eq "U1"]', groupResource)
    expect(m.sql).toContain('from group_members as m')
    expect(m.parameters).toEqual(keyed ? [ORG, 'group', 'U1', 'U1'] : [ORG, 'group', 'U1'])
    if (keyed) expect(m.sql).toContain(`"m"."member_id" = unhex(?, '-')`)
  })

  it('dateTime literals are bound as ISO instants; years beyond 9999 compare as constants', () => {
    expect(compile(d, 'meta.created ge "2024-01-01"').parameters).toContain('2024-01-01T00:00:00.000Z')
    const far = compile(d, 'meta.created lt "+010000-01-01T00:00:00Z"')
    expect(far.parameters).toEqual([])
  })

  it('meta.resourceType and meta.version compare computed values', () => {
    expect(compile(d, 'meta.resourceType eq "User"').parameters).toEqual(['User', 'User'])
    expect(compile(d, 'meta.version eq "W/\\"3\\""').sql).toContain(`'W/"' || "t"."version" || '"'`)
  })

  it('an and or an or of 1,000 comparisons is grouped 16 at a time, not one chain 1,000 long (SQLite refuses an expression tree past 1,000)', () => {
    // The longest run of `op` joins inside one pair of parentheses (string literals taken out).
    const longestRun = (text: string, op: string) => {
      const runs = [0]
      let max = 0
      const t = text.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"/g, "''")
      for (let i = 0; i < t.length; i++) {
        if (t[i] === '(') runs.push(0)
        else if (t[i] === ')') runs.pop()
        else if (t.startsWith(` ${op} `, i)) {
          const n = (runs.pop() ?? 0) + 1
          runs.push(n)
          max = Math.max(max, n)
        }
      }
      return max
    }
    for (const op of ['or', 'and']) {
      expect(compile(d, 'id eq "x"').sql).not.toContain(` ${op} `)
      const chained = compile(d, Array.from({ length: 1_000 }, (_, i) => `id eq "${i % 10}"`).join(` ${op} `))
      expect(chained.sql.split(` ${op} `)).toHaveLength(1_000)
      expect(longestRun(chained.sql, op)).toBe(15)
    }
  })

  it.runIf(d.name === 'postgres')('U+0000, which PostgreSQL cannot hold, is never sent to it', () => {
    expect(compile(d, 'userName eq "a\\u0000"').parameters).toEqual([])
    expect(compile(d, 'title gt "a\\u0000b"').parameters).toContain('a')
  })

  it.each([
    ['bogus eq "x"', userResource],
    ['name.bogus eq "x"', userResource],
    ['urn:example:nope:department eq "x"', userResource],
    ['department eq "x"', groupResource],
    ['emails[bogus eq "x"]', userResource],
    ['emails[value.x eq "x"]', userResource],
    ['title[value eq "x"]', userResource],
    ['password eq "x"', userResource],
    ['name eq "x"', userResource],
    ['addresses eq "x"', userResource],
    ['active gt true', userResource],
    ['active eq "true"', userResource],
    ['userName eq true', userResource],
    ['meta.created co "2"', userResource],
    ['meta.created eq "yesterday"', userResource],
    ['meta.location pr', userResource],
    ['members.display pr', groupResource],
    ['userName eq "x"', groupResource],
  ] as const)('%s is 400 invalidFilter', (filter, rs) => {
    const e = compileError(d, filter, rs)
    expect(e).toBeInstanceOf(ScimError)
    expect([e?.status, e?.scimType]).toEqual([400, 'invalidFilter'])
  })
})

describe('prefixUpperBound', () => {
  it.each([
    ['a', 'b'],
    ['az', 'a{'],
    ['x%', 'x&'],
    ['a\u{10ffff}', 'b'],
    ['\ud7ff', '\ue000'],
    ['a😀', 'a😁'],
    ['\uffff', '\u{10000}'],
  ])('%j -> %j', (prefix, upper) => {
    expect(prefixUpperBound(prefix)).toBe(upper)
  })

  it('is null when no string is greater: empty, or only U+10FFFF', () => {
    expect(prefixUpperBound('')).toBeNull()
    expect(prefixUpperBound('\u{10ffff}\u{10ffff}')).toBeNull()
  })

  it('bounds every string with the prefix, in code-point order', () => {
    const cp = (a: string, b: string) => {
      const x = [...a].map((c) => c.codePointAt(0) ?? 0)
      const y = [...b].map((c) => c.codePointAt(0) ?? 0)
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0)
      return x.length - y.length
    }
    for (const p of ['a', 'ab\uffff', 'z😀', '\ud7ff']) {
      const upper = prefixUpperBound(p) ?? ''
      for (const tail of ['', '\u0000', '\u{10ffff}', '😀', '\uffff']) expect(cp(p + tail, upper)).toBeLessThan(0)
    }
  })
})
