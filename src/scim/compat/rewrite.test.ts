import { describe, expect, it } from 'vitest'
import { groupResource, userResource } from '../schema/registry.ts'
import type { ScimTrace } from './detect.ts'
import { rewriteListQuery, rewritePatch, rewriteResource, rewriteSearchRequest } from './rewrite.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
const msg = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations })
const trace = (): ScimTrace => ({ identityProvider: 'unknown', notes: [] })

describe('rewritePatch', () => {
  const cases: { name: string; ops: unknown[]; want: unknown[]; notes: RegExp[]; rs?: typeof userResource }[] = [
    {
      name: 'capitalised ops become the RFC\'s (Entra ID, without aadOptscim062020)',
      ops: [{ op: 'Add', path: 'nickName', value: 'Babs' }, { op: 'Replace', path: 'title', value: 'x' }, { op: 'Remove', path: 'title' }],
      want: [{ op: 'add', path: 'nickName', value: 'Babs' }, { op: 'replace', path: 'title', value: 'x' }, { op: 'remove', path: 'title' }],
      notes: [/op "Add" read as "add"/, /op "Replace" read as "replace"/, /op "Remove" read as "remove"/],
    },
    {
      name: '"False" for active by path becomes false',
      ops: [{ op: 'Replace', path: 'active', value: 'False' }],
      want: [{ op: 'replace', path: 'active', value: false }],
      notes: [/active "False" read as false/],
    },
    {
      name: '"True" in a path-less value becomes true; other keys untouched',
      ops: [{ op: 'replace', value: { active: 'True', displayName: 'True' } }],
      want: [{ op: 'replace', value: { active: true, displayName: 'True' } }],
      notes: [/active "True" read as true/],
    },
    {
      name: 'a "True" primary inside a filtered value path and inside elements becomes true',
      ops: [{ op: 'replace', path: 'emails[type eq "work"].primary', value: 'True' }, { op: 'add', path: 'emails', value: [{ value: 'a@x', primary: 'true' }] }],
      want: [{ op: 'replace', path: 'emails[type eq "work"].primary', value: true }, { op: 'add', path: 'emails', value: [{ value: 'a@x', primary: true }] }],
      notes: [/emails\.primary|primary "True" read as true/, /primary "true" read as true/],
    },
    {
      name: '"False" for a string attribute stays a string',
      ops: [{ op: 'replace', path: 'title', value: 'False' }, { op: 'replace', path: 'name.givenName', value: 'True' }],
      want: [{ op: 'replace', path: 'title', value: 'False' }, { op: 'replace', path: 'name.givenName', value: 'True' }],
      notes: [],
    },
    {
      name: 'manager as a bare id becomes {"value": id}',
      ops: [{ op: 'replace', path: `${ENT}:manager`, value: 'm-1' }],
      want: [{ op: 'replace', path: `${ENT}:manager`, value: { value: 'm-1', $ref: null } }],
      notes: [/manager "m-1" read as \{"value":"m-1"\}/],
    },
    {
      name: 'manager by a bare path with a one-element array (Entra tutorial, Example 5)',
      ops: [{ op: 'Add', path: 'manager', value: [{ $ref: 'http://x/scim/Users/m-2', value: 'm-2' }] }],
      want: [{ op: 'add', path: `${ENT}:manager`, value: { $ref: 'http://x/scim/Users/m-2', value: 'm-2' } }],
      notes: [/path "manager" read as/, /one-element array/],
    },
    {
      name: 'an empty manager string clears it',
      ops: [{ op: 'replace', path: `${ENT}:manager`, value: '' }],
      want: [{ op: 'replace', path: `${ENT}:manager`, value: null }],
      notes: [/manager "" read as no manager/],
    },
    {
      name: 'path-less keys: bare extension names are qualified, schema-qualified manager string read',
      ops: [{ op: 'replace', value: { department: 'R&D', [`${ENT}:manager`]: 'm-3', 'name.givenName': 'Kkom' } }],
      want: [{ op: 'replace', value: { [`${ENT}:department`]: 'R&D', [`${ENT}:manager`]: { value: 'm-3', $ref: null }, 'name.givenName': 'Kkom' } }],
      notes: [/path "department" read as/, /manager "m-3"/],
    },
    {
      name: 'manager inside an extension object in a path-less value',
      ops: [{ op: 'add', value: { [ENT]: { manager: 'm-4' } } }],
      want: [{ op: 'add', value: { [ENT]: { manager: { value: 'm-4', $ref: null } } } }],
      notes: [/manager "m-4"/],
    },
    {
      name: 'remove of members with a value list is kept and noted (the core removes only those)',
      ops: [{ op: 'Remove', path: 'members', value: [{ value: 'u1' }] }],
      want: [{ op: 'remove', path: 'members', value: [{ value: 'u1' }] }],
      notes: [/remove of "members" with a value read as removing the values listed/],
      rs: groupResource,
    },
    {
      name: 'bad input is left for the core to refuse',
      ops: [{ op: 'merge', path: 'title', value: 'x' }, { op: 'replace', path: 'emails[', value: 'True' }, { op: 'replace', path: 'active', value: 'yes' }, 'x'],
      want: [{ op: 'merge', path: 'title', value: 'x' }, { op: 'replace', path: 'emails[', value: 'True' }, { op: 'replace', path: 'active', value: 'yes' }, 'x'],
      notes: [],
    },
  ]
  it.each(cases)('$name', ({ ops, want, notes, rs }) => {
    const t = trace()
    const body = msg(...ops)
    const before = structuredClone(body)
    expect(rewritePatch(rs ?? userResource, body, t)).toEqual(msg(...want))
    expect(body).toEqual(before) // the request as sent stays intact for the log
    for (const n of notes) expect(t.notes.some((x) => n.test(x)), `${n} in ${JSON.stringify(t.notes)}`).toBe(true)
    if (notes.length === 0) expect(t.notes).toEqual([])
  })

  it('returns the very same object when nothing needs reading (no copy)', () => {
    const body = msg({ op: 'replace', path: 'emails[type eq "work"].value', value: 'a@x' }, { op: 'replace', value: { displayName: 'B', active: false } }, { op: 'remove', path: 'members[value eq "u"]' })
    const t = trace()
    expect(rewritePatch(userResource, body, t)).toBe(body)
    expect(rewritePatch(groupResource, body, t)).toBe(body)
    expect(t.notes).toEqual([])
  })

  it('names Entra ID from a capitalised op when the User-Agent said nothing, and keeps a known one', () => {
    const t = trace()
    rewritePatch(userResource, msg({ op: 'Replace', path: 'active', value: false }), t)
    expect(t.identityProvider).toBe('entra')
    expect(t.notes).toContain('identity provider read as Entra ID from the request\'s shape')
    const okta: ScimTrace = { identityProvider: 'okta', notes: [] }
    rewritePatch(userResource, msg({ op: 'Replace', path: 'active', value: false }), okta)
    expect(okta.identityProvider).toBe('okta')
  })

  it('notes a reading once per request', () => {
    const t = trace()
    rewritePatch(userResource, msg(...Array.from({ length: 5 }, () => ({ op: 'Replace', path: 'title', value: 'x' }))), t)
    expect(t.notes.filter((n) => n.startsWith('op "Replace"'))).toHaveLength(1)
  })
})

describe('rewriteResource', () => {
  it('moves bare enterprise attributes under the extension and reads a bare manager', () => {
    const t = trace()
    const body = { userName: 'a', costCenter: 'CC1', organization: 'Org', department: null, manager: 'm-1', [ENT]: { division: 'D' } }
    expect(rewriteResource(userResource, body, t)).toEqual({ userName: 'a', [ENT]: { division: 'D', costCenter: 'CC1', organization: 'Org', manager: { value: 'm-1', $ref: null } } })
    expect(t.notes).toEqual(expect.arrayContaining([expect.stringMatching(/top-level "costCenter" read as/), expect.stringMatching(/manager "m-1"/)]))
    expect(body.costCenter).toBe('CC1')
  })

  it('moves schema-qualified flat keys (the JumpCloud table\'s spelling) under their extension', () => {
    const t = trace()
    expect(rewriteResource(userResource, { userName: 'a', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department': 'R&D' }, t)).toEqual({ userName: 'a', [ENT]: { department: 'R&D' } })
    expect(t.notes[0]).toMatch(/top-level "urn:.*:user:department" read as urn:.*:User:department/)
  })

  it('keeps the explicit extension value over a bare duplicate, and says so', () => {
    const t = trace()
    expect(rewriteResource(userResource, { userName: 'a', department: 'bare', [ENT]: { department: 'urn' } }, t)).toEqual({ userName: 'a', [ENT]: { department: 'urn' } })
    expect(t.notes[0]).toMatch(/top-level "department" ignored/)
  })

  it('reads "True"/"False" for active and primary only; an extension written in lower case is found', () => {
    const t = trace()
    const lowerUrn = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user'
    expect(rewriteResource(userResource, { userName: 'a', active: 'False', title: 'True', emails: [{ value: 'a@x', primary: 'True' }], [lowerUrn]: { Manager: '123456' } }, t))
      .toEqual({ userName: 'a', active: false, title: 'True', emails: [{ value: 'a@x', primary: true }], [lowerUrn]: { Manager: { value: '123456', $ref: null } } })
  })

  it('returns the same object for a standard body, and names Entra ID from its group schema', () => {
    const t = trace()
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a', active: true, [ENT]: { manager: { value: 'm' } } }
    expect(rewriteResource(userResource, body, t)).toBe(body)
    expect(t.notes).toEqual([])
    const g = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'], displayName: 'g' }
    expect(rewriteResource(groupResource, g, t)).toBe(g)
    expect(t.identityProvider).toBe('entra')
  })
})

describe('rewriteListQuery', () => {
  it.each([
    // Unquoted values are the filter parser's (list-query.ts), not a rewrite.
    ['externalId eq jyoung', 'externalId eq jyoung'],
    ['userName eq "a b"', 'userName eq "a b"'],
    ['active eq true', 'active eq true'],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 42', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 42'],
    ['userName eq a and active eq true', 'userName eq a and active eq true'],
    ['emails[type eq "work"].value eq "a@x"', 'emails[(type eq "work") and value eq "a@x"]'],
    ['userName eq "u" and emails[type eq "w]." and primary eq true].value pr', 'userName eq "u" and emails[(type eq "w]." and primary eq true) and value pr]'],
    ['emails[type eq "work"].value eq a@x', 'emails[type eq "work"].value eq a@x'],
  ])('%s -> %s', (filter, want) => {
    expect(rewriteListQuery({ filter, count: '5' }, trace())).toEqual({ filter: want, count: '5' })
  })
  it('leaves a query without a filter as it is, and reads SearchRequest bodies too', () => {
    const q = { startIndex: '1' }
    expect(rewriteListQuery(q, trace())).toBe(q)
    expect(rewriteSearchRequest({ filter: 'emails[type eq "work"].value eq "b"' }, trace())).toEqual({ filter: 'emails[(type eq "work") and value eq "b"]' })
  })
})
