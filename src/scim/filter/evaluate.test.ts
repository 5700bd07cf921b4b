import { describe, expect, it } from 'vitest'
import { groupResource, userResource, type ResourceSchema } from '../schema/registry.ts'
import { attr } from '../schema/types.ts'
import { compareValueFor, compileFilter, isPresent, matchesFilter } from './evaluate.ts'
import { parseFilter } from './parser.ts'
import { scimErrorOf } from '../../../test/helpers/scim-error.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'

const alice: Record<string, unknown> = {
  schemas: [CORE, ENT],
  id: 'a1b2',
  externalId: 'EXT-1',
  userName: 'Alice@Example.com',
  name: { givenName: 'Alice', familyName: 'O\'Hara' },
  displayName: '100% real_name\\x',
  title: '',
  active: true,
  emails: [
    { value: 'alice@work.example', type: 'work', primary: true },
    { value: 'alice@home.example', type: 'home' },
  ],
  meta: { resourceType: 'User', created: '2024-01-02T03:04:05.000Z', lastModified: '2024-06-01T00:00:00Z', version: 'W/"3"' },
  [ENT]: { employeeNumber: '701984', department: 'R&D', manager: { value: 'm1', displayName: 'Boss' } },
}

// Full-width letters, no emails, no extension, no `active`, an empty `name`.
const wide: Record<string, unknown> = {
  schemas: [CORE],
  id: 'w1',
  externalId: 'ＡＢＣ',
  userName: 'ＡＬＩＣＥ',
  name: {},
  emails: [],
  meta: { resourceType: 'User', created: 'not a date' },
}

const engineering: Record<string, unknown> = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: 'g1',
  displayName: 'Engineering',
  members: [
    { value: 'u1', type: 'User', display: 'Alice' },
    { value: 'g2', type: 'Group' },
  ],
}

type Row = readonly [filter: string, expected: boolean]

function table(title: string, rs: ResourceSchema, resource: Record<string, unknown>, rows: readonly Row[]): void {
  describe(title, () => {
    for (const [filter, expected] of rows) {
      it(`${filter} is ${String(expected)}`, () => {
        expect(matchesFilter(rs, resource, parseFilter(filter))).toBe(expected)
      })
    }
  })
}

table('string, caseExact false (userName): folded comparison', userResource, alice, [
  ['userName eq "alice@example.com"', true],
  ['userName eq "ALICE@EXAMPLE.COM"', true],
  ['userName eq "alice"', false],
  ['userName ne "alice@example.com"', false],
  ['userName ne "bob@example.com"', true],
  ['userName co "EXAMPLE"', true],
  ['userName co "zzz"', false],
  ['userName sw "ALICE@"', true],
  ['userName sw "example"', false],
  ['userName ew ".COM"', true],
  ['userName ew "alice"', false],
  ['userName gt "alice"', true],
  ['userName gt "alice@example.com"', false],
  ['userName ge "ALICE@EXAMPLE.COM"', true],
  ['userName lt "B"', true],
  ['userName lt "alice@example.com"', false],
  ['userName le "alice@example.com"', true],
  ['userName pr', true],
])

table('string, caseExact true (externalId, meta.resourceType): exact comparison', userResource, alice, [
  ['externalId eq "EXT-1"', true],
  ['externalId eq "ext-1"', false],
  ['externalId ne "ext-1"', true],
  ['externalId co "XT"', true],
  ['externalId co "xt"', false],
  ['externalId sw "EXT"', true],
  ['externalId ew "-1"', true],
  ['externalId ew "t-1"', false],
  // UTF-16 code units: "E" (0x45) sorts before "e" (0x65).
  ['externalId lt "ext"', true],
  ['externalId gt "EXT-0"', true],
  ['externalId le "EXT-1"', true],
  ['meta.resourceType eq "User"', true],
  ['meta.resourceType eq "user"', false],
])

table('Unicode folding: full-width letters equal ASCII when caseExact is false only', userResource, wide, [
  ['userName eq "alice"', true],
  ['userName eq "ALICE"', true],
  ['userName sw "ali"', true],
  ['externalId eq "ABC"', false],
  ['externalId eq "ＡＢＣ"', true],
])

table('co, sw and ew match %, _ and \\ literally (no LIKE patterns)', userResource, alice, [
  ['displayName co "%"', true],
  ['displayName co "0% r"', true],
  ['displayName co "_"', true],
  ['displayName co "l_n"', true],
  ['displayName sw "1%"', false],
  ['displayName co "real%name"', false],
  ['displayName co "a_e"', false],
  ['displayName ew "\\\\x"', true],
  ['displayName co "e\\\\_"', false],
  ['displayName eq "100% real_name\\\\x"', true],
  ['displayName eq "100_ real%name\\\\x"', false],
])

table('boolean (active)', userResource, alice, [
  ['active eq true', true],
  ['active eq false', false],
  ['active ne false', true],
  ['active ne true', false],
  ['active pr', true],
])

table('absent attributes: ne and eq null match, other operators do not', userResource, wide, [
  ['active eq false', false],
  ['active ne true', true],
  ['active pr', false],
  ['active eq null', true],
  ['nickName eq "x"', false],
  ['nickName ne "x"', true],
  ['nickName co "x"', false],
  ['nickName gt "a"', false],
  ['nickName lt "z"', false],
  ['nickName eq null', true],
  ['nickName ne null', false],
  [`${ENT}:department eq "R&D"`, false],
  [`${ENT}:department ne "R&D"`, true],
  [`${ENT}:manager pr`, false],
])

table('dateTime (meta.created) compares instants', userResource, alice, [
  ['meta.created eq "2024-01-02T03:04:05Z"', true],
  ['meta.created eq "2024-01-02T04:04:05+01:00"', true],
  ['meta.created ne "2024-01-02T03:04:05Z"', false],
  ['meta.created eq "2024-01-02T03:04:06Z"', false],
  ['meta.created gt "2024-01-01T00:00:00Z"', true],
  ['meta.created gt "2024-01-02T03:04:05Z"', false],
  ['meta.created ge "2024-01-02T03:04:05Z"', true],
  ['meta.created lt "2024-01-02T03:04:05.001Z"', true],
  ['meta.created le "2024-01-02T03:04:05Z"', true],
  ['meta.lastModified lt "2024-06-01T00:00:01Z"', true],
  ['meta.created pr', true],
])

table('a stored dateTime that does not parse matches no comparison', userResource, wide, [
  ['meta.created gt "1970-01-01T00:00:00Z"', false],
  ['meta.created lt "2999-01-01T00:00:00Z"', false],
  ['meta.created ne "2024-01-02T03:04:05Z"', true],
])

table('multi-valued complex (emails): any element matches; ne is NOT(any eq)', userResource, alice, [
  ['emails eq "ALICE@home.example"', true],
  ['emails co "@work."', true],
  ['emails.value sw "alice@work"', true],
  ['emails.value eq "bob@work.example"', false],
  ['emails.type eq "work"', true],
  ['emails.type eq "other"', false],
  ['emails.type ne "work"', false],
  ['emails.type ne "other"', true],
  ['emails ne "alice@work.example"', false],
  ['emails.primary eq true', true],
  ['emails.primary eq false', false],
  ['emails.value gt "alice@v"', true],
  ['emails pr', true],
  ['emails.type pr', true],
  ['emails.display pr', false],
  ['emails.type eq null', false],
  ['emails.display eq null', true],
  ['emails.display ne null', false],
  // Each test may be met by a different element; a value filter asks one element for both.
  ['emails.type eq "home" and emails.primary eq true', true],
  ['emails[type eq "home" and primary eq true]', false],
  ['emails[type eq "work" and value co "WORK"]', true],
  ['emails[not (type eq "work")]', true],
  ['emails[primary pr]', true],
  ['emails[type eq "other" or value ew "home.example"]', true],
  ['not (emails[type eq "work"])', false],
])

table('multi-valued with no elements', userResource, wide, [
  ['emails pr', false],
  ['emails eq "x"', false],
  ['emails.value ne "x"', true],
  ['emails eq null', true],
  ['emails ne null', false],
  ['emails[type eq "work"]', false],
  ['not (emails[type eq "work"])', true],
])

table('extension attributes, by URN-qualified name', userResource, alice, [
  [`${ENT}:employeeNumber eq "701984"`, true],
  [`${ENT}:employeeNumber gt "7"`, true],
  [`${ENT}:department co "&"`, true],
  [`${ENT}:manager.value eq "m1"`, true],
  [`${ENT}:manager.displayName eq "BOSS"`, true],
  // Entra ID's manager filters: the complex value compares its `value`, the URN may be left out.
  [`${ENT}:manager eq "m1"`, true],
  ['manager eq "M1"', true],
  ['manager.value eq "m1"', true],
  ['manager ne "m1"', false],
  ['department eq "r&d"', true],
  [`${ENT}:manager pr`, true],
  [`${ENT}:costCenter pr`, false],
  [`${ENT.toLowerCase()}:EMPLOYEENUMBER eq "701984"`, true],
  [`${CORE}:name.givenName eq "alice"`, true],
  [`${CORE}:userName sw "alice"`, true],
])

table('complex single-valued, pr and empty values', userResource, alice, [
  ['name pr', true],
  ['name.givenName pr', true],
  ['name.middleName pr', false],
  ['name.familyName eq "o\'hara"', true],
  ['title pr', false],
  ['title eq ""', true],
  ['title co ""', false],
  ['title eq null', true],
  ['userName co ""', true],
  ['displayName ne null', true],
  ['displayName eq null', false],
  ['name eq null', false],
  ['name ne null', true],
  [`${ENT}:manager ne null`, true],
])

table('an object with no present members is not present', userResource, wide, [
  ['name pr', false],
  ['name eq null', true],
  ['name ne null', false],
])

table('logic: and, or, not', userResource, alice, [
  ['not (userName eq "alice@example.com")', false],
  ['not (not (userName eq "alice@example.com"))', true],
  ['userName eq "x" or active eq true', true],
  ['userName eq "x" and active eq true', false],
  ['userName eq "x" or userName eq "y" or id eq "a1b2"', true],
  ['active eq true and (userName eq "x" or externalId eq "EXT-1")', true],
])

table('groups: members by value (caseExact) and type (caseExact false)', groupResource, engineering, [
  ['displayName eq "ENGINEERING"', true],
  ['members[value eq "u1"]', true],
  ['members.value eq "g2"', true],
  // members.value is an id, compared exactly (RFC 7643 §3.1; schema/group.ts).
  ['members.value eq "U1"', false],
  ['members[type eq "group" and value eq "g2"]', true],
  ['members[type eq "group" and value eq "u1"]', false],
  ['members eq "u1"', true],
  ['members.display pr', true],
])

describe('errors are 400 invalidFilter, found before any resource is read', () => {
  const bad: readonly [string, RegExp][] = [
    ['shoeSize gt 3', /shoeSize/],
    ['name.nope pr', /name\.nope/],
    ['urn:example:unknown:1.0:User:x eq "y"', /urn:example/],
    ['password eq "secret"', /password/],
    ['emails[nope eq "x"]', /nope/],
    ['userName[value eq "x"]', /not a multi-valued/],
    ['name[givenName pr]', /not a multi-valued/],
    ['userName eq 5', /Expected a string/],
    ['userName eq true', /Expected a string/],
    ['active eq "true"', /Expected true or false/],
    ['active gt true', /gt is not defined on boolean/],
    ['active co true', /co is not defined on boolean/],
    ['emails[primary lt false]', /lt is not defined on boolean/],
    ['meta.created gt "yesterday"', /Expected a dateTime/],
    ['meta.created eq 5', /Expected a dateTime/],
    ['meta.created co "2024"', /co is not defined on dateTime/],
    ['meta.created sw "2024-01-02T03:04:05Z"', /sw is not defined on dateTime/],
    ['name eq "Alice"', /complex/],
    ['nickName gt null', /cannot compare with null/],
    ['emails.value co null', /cannot compare with null/],
    // Validation does not depend on and/or short-circuiting.
    ['userName eq "nobody" and shoeSize pr', /shoeSize/],
    ['userName pr or shoeSize pr', /shoeSize/],
  ]
  for (const [filter, detail] of bad) {
    it(`rejects ${filter}`, () => {
      const f = parseFilter(filter)
      const e = scimErrorOf(() => compileFilter(userResource, f))
      expect(e.status).toBe(400)
      expect(e.scimType).toBe('invalidFilter')
      expect(e.message).toMatch(detail)
      expect(scimErrorOf(() => matchesFilter(userResource, alice, f)).scimType).toBe('invalidFilter')
    })
  }

  it('rejects a hand-built value filter nested in a value filter', () => {
    const inner = parseFilter('emails[type eq "work"]')
    const f = { kind: 'valuePath', path: { uri: null, name: 'emails', sub: null }, filter: inner } as const
    expect(scimErrorOf(() => matchesFilter(userResource, alice, f)).message).toMatch(/cannot contain another value filter/)
  })
})

describe('compareValueFor', () => {
  const age = attr('age', 'integer', 'test only')
  const score = attr('score', 'decimal', 'test only')

  it('compares numbers numerically', () => {
    expect(compareValueFor(age, 'gt', 9)(10)).toBe(true)
    expect(compareValueFor(age, 'gt', 10)(9)).toBe(false)
    expect(compareValueFor(age, 'eq', 10)(10)).toBe(true)
    expect(compareValueFor(age, 'ge', 10)(10)).toBe(true)
    expect(compareValueFor(score, 'lt', 1.5)(1.25)).toBe(true)
    expect(compareValueFor(score, 'le', 1.5)(1.5)).toBe(true)
    // A number stored as a string is not a number.
    expect(compareValueFor(age, 'eq', 10)('10')).toBe(false)
  })

  it('rejects co, sw and ew and non-number literals on numbers', () => {
    for (const op of ['co', 'sw', 'ew'] as const) expect(scimErrorOf(() => compareValueFor(age, op, 1)).scimType).toBe('invalidFilter')
    expect(scimErrorOf(() => compareValueFor(age, 'eq', '1')).message).toMatch(/Expected a number/)
  })
})

describe('isPresent', () => {
  it('treats null, "", [], {} and containers of those as absent, and false and 0 as present', () => {
    for (const v of [undefined, null, '', [], {}, [null, ''], { a: null, b: '' }, [{}]]) expect(isPresent(v)).toBe(false)
    for (const v of [false, 0, 'x', [1], { a: false }]) expect(isPresent(v)).toBe(true)
  })
})
