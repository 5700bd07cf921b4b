import { describe, expect, it } from 'vitest'
import type { ScimType } from './errors.ts'
import { validateResource, type ValidatedResource } from './resource.ts'
import { groupResource, userResource, type ResourceSchema } from './schema/registry.ts'
import { scimErrorOf } from '../../test/helpers/scim-error.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

interface OkCase {
  readonly name: string
  readonly rs?: ResourceSchema
  readonly input: unknown
  readonly expect: Partial<ValidatedResource>
}

interface ErrCase {
  readonly name: string
  readonly rs?: ResourceSchema
  readonly input: unknown
  readonly scimType: ScimType
  readonly detail?: RegExp
}

const ok: OkCase[] = [
  {
    name: 'keeps a minimal user as sent',
    input: { schemas: [USER], userName: 'bjensen' },
    expect: { body: { userName: 'bjensen' }, password: null, members: null, externalId: null },
  },
  {
    name: 'matches attribute names case-insensitively and outputs canonical spelling',
    input: { USERNAME: 'b', DisplayName: 'Babs', NAME: { GivenName: 'Barbara' }, Emails: [{ VALUE: 'b@x', Type: 'work' }] },
    expect: { body: { userName: 'b', displayName: 'Babs', name: { givenName: 'Barbara' }, emails: [{ value: 'b@x', type: 'work' }] } },
  },
  {
    name: 'ignores id, meta and schemas sent by the client',
    input: { id: 'x', meta: { resourceType: 'User' }, schemas: [USER], userName: 'b' },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'ignores unknown URNs in schemas',
    input: { schemas: ['urn:example:unknown'], userName: 'b' },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'ignores unknown attributes and unknown sub-attributes',
    input: { userName: 'b', favouriteColour: 'blue', name: { givenName: 'B', nickname2: 'x' } },
    expect: { body: { userName: 'b', name: { givenName: 'B' } } },
  },
  {
    name: 'ignores readOnly groups on a user',
    input: { userName: 'b', groups: [{ value: 'g1' }] },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'ignores a readOnly sub-attribute (manager.displayName)',
    input: { userName: 'b', [ENT]: { manager: { value: 'm1', displayName: 'Boss' } } },
    expect: { body: { userName: 'b', [ENT]: { manager: { value: 'm1' } } } },
  },
  {
    name: 'nests extension attributes under the canonical URN, matched case-insensitively',
    input: { userName: 'b', [ENT.toUpperCase()]: { DEPARTMENT: 'Sales', employeeNumber: '42' } },
    expect: { body: { userName: 'b', [ENT]: { department: 'Sales', employeeNumber: '42' } } },
  },
  {
    name: 'drops an extension object that ends up empty',
    input: { userName: 'b', [ENT]: { department: null, unknown: 1 } },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'extracts password and never keeps it in the body',
    input: { userName: 'b', password: 't1meMa$heen' },
    expect: { body: { userName: 'b' }, password: 't1meMa$heen' },
  },
  {
    name: 'returns externalId separately and keeps it in the body',
    input: { userName: 'b', externalId: 'ext-1' },
    expect: { body: { userName: 'b', externalId: 'ext-1' }, externalId: 'ext-1' },
  },
  {
    name: 'drops null attributes as unassigned',
    input: { userName: 'b', displayName: null, name: { givenName: null }, emails: null },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'drops empty arrays',
    input: { userName: 'b', emails: [], phoneNumbers: [null] },
    expect: { body: { userName: 'b' } },
  },
  {
    name: 'wraps a single value sent for a multi-valued attribute',
    input: { userName: 'b', emails: { value: 'b@x' } },
    expect: { body: { userName: 'b', emails: [{ value: 'b@x' }] } },
  },
  {
    name: 'keeps strings exactly as sent (no trimming)',
    input: { userName: '  Bjensen ', displayName: ' B ' },
    expect: { body: { userName: '  Bjensen ', displayName: ' B ' } },
  },
  {
    name: 'accepts booleans, ISO 8601 dateTimes and one primary value',
    input: { userName: 'b', active: false, emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: false }] },
    expect: { body: { userName: 'b', active: false, emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: false }] } },
  },
  {
    name: 'accepts references and binary values as strings',
    input: { userName: 'b', profileUrl: 'https://x/b', x509Certificates: [{ value: 'MIIDQzCC' }] },
    expect: { body: { userName: 'b', profileUrl: 'https://x/b', x509Certificates: [{ value: 'MIIDQzCC' }] } },
  },
  {
    name: 'returns group members apart from the body',
    rs: groupResource,
    input: { displayName: 'Eng', members: [{ value: 'u1', display: 'Babs', $ref: 'https://x/Users/u1' }, { value: 'g2', type: 'group' }] },
    expect: { body: { displayName: 'Eng' }, members: [{ value: 'u1', display: 'Babs' }, { value: 'g2', type: 'Group' }] },
  },
  {
    name: 'keeps a repeated member once',
    rs: groupResource,
    input: { displayName: 'Eng', members: [{ value: 'u1' }, { value: 'u1' }] },
    expect: { members: [{ value: 'u1' }] },
  },
  {
    name: 'returns an empty member list when members is empty, null when absent',
    rs: groupResource,
    input: { displayName: 'Eng', members: [] },
    expect: { members: [] },
  },
  {
    name: 'returns null members for a group sent without members',
    rs: groupResource,
    input: { displayName: 'Eng' },
    expect: { body: { displayName: 'Eng' }, members: null },
  },
]

const errors: ErrCase[] = [
  { name: 'rejects a body that is not an object', input: ['userName'], scimType: 'invalidSyntax' },
  { name: 'rejects a null body', input: null, scimType: 'invalidSyntax' },
  { name: 'rejects schemas that is not an array of strings', input: { schemas: USER, userName: 'b' }, scimType: 'invalidSyntax' },
  { name: 'rejects the same attribute twice in different case', input: { userName: 'a', username: 'b' }, scimType: 'invalidSyntax' },
  { name: 'rejects a missing userName', input: { displayName: 'B' }, scimType: 'invalidValue', detail: /userName/ },
  { name: 'rejects an empty userName', input: { userName: '' }, scimType: 'invalidValue', detail: /userName/ },
  { name: 'rejects a blank userName', input: { userName: '   ' }, scimType: 'invalidValue', detail: /userName/ },
  { name: 'rejects a null userName', input: { userName: null }, scimType: 'invalidValue', detail: /userName/ },
  { name: 'rejects a group without displayName', rs: groupResource, input: { members: [] }, scimType: 'invalidValue', detail: /displayName/ },
  { name: 'rejects a number for a string', input: { userName: 42 }, scimType: 'invalidValue', detail: /"userName" must be a string, got a number/ },
  { name: 'rejects a string for a boolean (no coercion here)', input: { userName: 'b', active: 'True' }, scimType: 'invalidValue', detail: /"active" must be a boolean/ },
  { name: 'rejects a string for a complex attribute', input: { userName: 'b', name: 'Babs' }, scimType: 'invalidValue', detail: /"name" must be a complex object/ },
  { name: 'rejects an array for a single-valued attribute', input: { userName: 'b', displayName: ['B'] }, scimType: 'invalidValue' },
  { name: 'rejects a wrong-typed sub-attribute, naming it', input: { userName: 'b', emails: [{ value: 'a@x', primary: 'yes' }] }, scimType: 'invalidValue', detail: /emails\[0\]\.primary/ },
  { name: 'rejects a string element in a complex multi-valued attribute', input: { userName: 'b', emails: ['a@x'] }, scimType: 'invalidValue', detail: /emails\[0\]/ },
  { name: 'rejects two primary values', input: { userName: 'b', emails: [{ value: 'a', primary: true }, { value: 'b', primary: true }] }, scimType: 'invalidValue', detail: /primary/ },
  { name: 'rejects a non-string password', input: { userName: 'b', password: 1234 }, scimType: 'invalidValue', detail: /password/ },
  { name: 'rejects an extension that is not an object', input: { userName: 'b', [ENT]: 'Sales' }, scimType: 'invalidValue' },
  { name: 'rejects a wrong type inside an extension', input: { userName: 'b', [ENT]: { department: 7 } }, scimType: 'invalidValue', detail: /department/ },
  { name: 'rejects a member without a string value', rs: groupResource, input: { displayName: 'E', members: [{ display: 'x' }] }, scimType: 'invalidValue', detail: /members\[0\]\.value/ },
  { name: 'rejects a member that is not an object', rs: groupResource, input: { displayName: 'E', members: ['u1'] }, scimType: 'invalidValue', detail: /members\[0\]/ },
  { name: 'rejects a member type other than User or Group', rs: groupResource, input: { displayName: 'E', members: [{ value: 'u1', type: 'Robot' }] }, scimType: 'invalidValue' },
]

describe('validateResource', () => {
  it.each(ok)('$name', (c) => {
    const v = validateResource(c.rs ?? userResource, c.input, { mode: 'create' })
    expect(v).toMatchObject(c.expect)
    if (c.expect.body) expect(v.body).toStrictEqual(c.expect.body)
  })

  it.each(errors)('$name', (c) => {
    const e = scimErrorOf(() => validateResource(c.rs ?? userResource, c.input, { mode: 'create' }))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe(c.scimType)
    if (c.detail) expect(e.message).toMatch(c.detail)
  })

  it.each([
    ['2024-05-01T10:00:00Z', true],
    ['2024-05-01T10:00:00.123+02:00', true],
    ['2024-05-01T10:00:00', true],
    ['2024-02-30T00:00:00Z', false],
    ['2024-05-01', false],
    ['yesterday', false],
  ])('dateTime %s is accepted: %s', (value, accepted) => {
    // No dateTime attribute is writable in the core schemas, so a custom one stands in.
    const rs: ResourceSchema = {
      ...userResource,
      core: { ...userResource.core, attributes: [...userResource.core.attributes, { ...userResource.core.attributes[0]!, name: 'hired', type: 'dateTime', required: false, uniqueness: 'none' }] },
    }
    const run = (): ValidatedResource => validateResource(rs, { userName: 'b', hired: value }, { mode: 'replace' })
    if (accepted) expect(run().body.hired).toBe(value)
    else expect(scimErrorOf(run).scimType).toBe('invalidValue')
  })

  it('never puts password, groups, id, meta or schemas in the body', () => {
    const v = validateResource(userResource, { id: '1', schemas: [USER], meta: {}, groups: [], password: 'p', userName: 'b' }, { mode: 'replace' })
    expect(Object.keys(v.body)).toEqual(['userName'])
  })

  it('does not modify its input', () => {
    const input = { userName: 'b', emails: { value: 'a@x' }, password: 'p' }
    const copy = structuredClone(input)
    validateResource(userResource, input, { mode: 'create' })
    expect(input).toStrictEqual(copy)
  })
})

describe('strings are well-formed Unicode', () => {
  it('a lone surrogate in a string attribute is 400 invalidValue; a surrogate pair is kept', () => {
    const e = scimErrorOf(() => validateResource(userResource, { userName: 'a\uD800b' }, { mode: 'create' }))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe('invalidValue')
    expect(scimErrorOf(() => validateResource(userResource, { userName: 'x', name: { givenName: '\uDC00' } }, { mode: 'create' })).scimType).toBe('invalidValue')
    expect(validateResource(userResource, { userName: 'emoji \uD83D\uDE00' }, { mode: 'create' }).body.userName).toBe('emoji 😀')
  })
})

describe('attributes no schema declares', () => {
  const nested = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`)

  it('are kept up to 64 levels deep', () => {
    const v = validateResource(userResource, { schemas: [USER], userName: 'a', 'urn:example:deep': nested(63) }, { mode: 'create' })
    expect(v.unknown).toHaveProperty(['urn:example:deep'])
  })

  // 20,000 levels parse, but serialising them for the store overflowed the stack: a 500.
  it.each([65, 20_000])('nested %i levels deep are a 400 invalidValue', (depth) => {
    const err = scimErrorOf(() => validateResource(userResource, { schemas: [USER], userName: 'a', 'urn:example:deep': nested(depth) }, { mode: 'create' }))
    expect(err).toMatchObject({ status: 400, scimType: 'invalidValue' })
    expect(err.message).toBe('Attribute "urn:example:deep" nests deeper than 64 levels')
  })
})
