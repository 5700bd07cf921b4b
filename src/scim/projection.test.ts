import { describe, expect, it } from 'vitest'
import { parseAttributeList, project, wantsAttribute } from './projection.ts'
import { groupResource, userResource } from './schema/registry.ts'
import { scimErrorOf } from '../../test/helpers/scim-error.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User'

const user: Record<string, unknown> = {
  schemas: [CORE, ENT],
  id: 'u1',
  externalId: 'ext-1',
  userName: 'alice@example.com',
  name: { givenName: 'Alice', familyName: 'Smith' },
  active: true,
  // Never in wire output, but projection must drop it even if a caller forgets.
  password: 'secret',
  emails: [
    { value: 'alice@work.example', type: 'work', primary: true },
    { type: 'home' },
  ],
  groups: [{ value: 'g1', display: 'Engineering' }],
  meta: { resourceType: 'User', created: '2024-01-01T00:00:00Z', lastModified: '2024-01-02T00:00:00Z', location: 'https://x/Users/u1', version: 'W/"1"' },
  [ENT]: { employeeNumber: '7', department: 'R&D', manager: { value: 'm1', displayName: 'Boss' } },
}

const group: Record<string, unknown> = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: 'g1',
  displayName: 'Engineering',
  members: [{ value: 'u1', type: 'User' }],
  meta: { resourceType: 'Group' },
}

describe('parseAttributeList', () => {
  it('splits on commas, trims, and drops empty entries', () => {
    expect(parseAttributeList(' userName , name.givenName,,')).toEqual(['userName', 'name.givenName'])
    expect(parseAttributeList(`${ENT}:manager.value`)).toEqual([`${ENT}:manager.value`])
  })

  it('reads an absent or empty parameter as no list', () => {
    expect(parseAttributeList(undefined)).toBeNull()
    expect(parseAttributeList('')).toBeNull()
    expect(parseAttributeList(' , ')).toBeNull()
  })

  it('rejects a malformed name with 400 invalidValue', () => {
    for (const bad of ['user name', 'emails[type eq ]', 'emails[type eq "work"] x', 'a.b.c', 'name.']) {
      const e = scimErrorOf(() => parseAttributeList(bad))
      expect(e.status).toBe(400)
      expect(e.scimType).toBe('invalidValue')
    }
  })

  it('reads a value path as the attribute it filters (a leniency, as Microsoft\'s reference server)', () => {
    expect(parseAttributeList('emails[type eq "work"], userName,emails[type eq "a,b"].value')).toEqual(['emails', 'userName', 'emails.value'])
    expect(parseAttributeList('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager')).toEqual(['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager'])
  })

  it('keeps unknown but well-formed names, for project() to ignore', () => {
    expect(parseAttributeList('shoeSize')).toEqual(['shoeSize'])
  })
})

describe('project', () => {
  it('with no lists outputs everything but returned:never attributes', () => {
    const { password: _password, ...rest } = user
    expect(project(userResource, user, {})).toEqual(rest)
    expect(project(userResource, user, { attributes: null, excludedAttributes: [] })).toEqual(rest)
  })

  it('attributes keeps only the named attributes plus schemas and id (returned always)', () => {
    expect(project(userResource, user, { attributes: ['userName'] })).toEqual({ schemas: user.schemas, id: 'u1', userName: 'alice@example.com' })
  })

  it('attributes never outputs password, even when named', () => {
    expect(project(userResource, user, { attributes: ['password', 'userName'] })).toEqual({ schemas: user.schemas, id: 'u1', userName: 'alice@example.com' })
  })

  it('attributes=name.givenName outputs only that sub-attribute of name', () => {
    expect(project(userResource, user, { attributes: ['name.givenName'] })).toEqual({ schemas: user.schemas, id: 'u1', name: { givenName: 'Alice' } })
  })

  it('attributes=emails.value keeps only value of each email and drops emails left empty', () => {
    expect(project(userResource, user, { attributes: ['emails.value'] })).toEqual({ schemas: user.schemas, id: 'u1', emails: [{ value: 'alice@work.example' }] })
  })

  it('attributes naming a sub-attribute and the whole attribute keeps the whole attribute', () => {
    expect(project(userResource, user, { attributes: ['name.givenName', 'name'] }).name).toEqual(user.name)
  })

  it('an extension attribute named by its URN selects within the extension object', () => {
    expect(project(userResource, user, { attributes: [`${ENT}:department`] })).toEqual({ schemas: user.schemas, id: 'u1', [ENT]: { department: 'R&D' } })
    expect(project(userResource, user, { attributes: [`${ENT}:manager.displayName`] })[ENT]).toEqual({ manager: { displayName: 'Boss' } })
  })

  it('the extension URN alone selects the whole extension', () => {
    expect(project(userResource, user, { attributes: [ENT] })).toEqual({ schemas: user.schemas, id: 'u1', [ENT]: user[ENT] })
  })

  it('a core attribute may be named with the core schema URN', () => {
    expect(project(userResource, user, { attributes: [`${CORE}:userName`] })).toEqual({ schemas: user.schemas, id: 'u1', userName: 'alice@example.com' })
  })

  it('names match case-insensitively and the output keeps the resource\'s spelling', () => {
    const out = project(userResource, user, { attributes: ['USERNAME', 'Name.GIVENNAME', `${ENT.toUpperCase()}:DEPARTMENT`] })
    expect(out).toEqual({ schemas: user.schemas, id: 'u1', userName: 'alice@example.com', name: { givenName: 'Alice' }, [ENT]: { department: 'R&D' } })
  })

  it('ignores unknown names in attributes and excludedAttributes', () => {
    expect(project(userResource, user, { attributes: ['shoeSize', 'userName', 'name.nope'] })).toEqual({ schemas: user.schemas, id: 'u1', userName: 'alice@example.com' })
    expect(project(userResource, user, { excludedAttributes: ['shoeSize'] })).not.toHaveProperty('password')
    expect(project(userResource, user, { excludedAttributes: ['shoeSize'] })).toHaveProperty('userName')
  })

  it('excludedAttributes removes default attributes but never id or schemas', () => {
    const out = project(userResource, user, { excludedAttributes: ['id', 'schemas', 'emails', 'meta', 'name', ENT] })
    expect(out).toEqual({ schemas: user.schemas, id: 'u1', externalId: 'ext-1', userName: 'alice@example.com', active: true, groups: user.groups })
  })

  it('excludedAttributes naming a sub-attribute drops just that sub-attribute', () => {
    const out = project(userResource, user, { excludedAttributes: ['emails.type', 'meta.location', `${ENT}:manager.value`] })
    expect(out.emails).toEqual([{ value: 'alice@work.example', primary: true }])
    expect(out.meta).toEqual({ resourceType: 'User', created: '2024-01-01T00:00:00Z', lastModified: '2024-01-02T00:00:00Z', version: 'W/"1"' })
    expect(out[ENT]).toEqual({ employeeNumber: '7', department: 'R&D', manager: { displayName: 'Boss' } })
  })

  it('applies attributes first, then excludedAttributes, when both are given', () => {
    expect(project(userResource, user, { attributes: ['name', 'userName'], excludedAttributes: ['name.familyName', 'userName'] }))
      .toEqual({ schemas: user.schemas, id: 'u1', name: { givenName: 'Alice' } })
  })

  it('drops an extension object that the selection leaves empty', () => {
    expect(project(userResource, user, { attributes: [`${ENT}:costCenter`] })).toEqual({ schemas: user.schemas, id: 'u1' })
  })

  it('does not modify the resource it is given', () => {
    const before = JSON.stringify(user)
    project(userResource, user, { attributes: ['emails.value'], excludedAttributes: ['name.givenName'] })
    expect(JSON.stringify(user)).toBe(before)
  })

  it('projects groups: attributes=displayName leaves members out', () => {
    expect(project(groupResource, group, { attributes: ['displayName'] })).toEqual({ schemas: group.schemas, id: 'g1', displayName: 'Engineering' })
    expect(project(groupResource, group, { excludedAttributes: ['members'] })).toEqual({ schemas: group.schemas, id: 'g1', displayName: 'Engineering', meta: group.meta })
  })
})

describe('wantsAttribute', () => {
  const cases: readonly [string, Parameters<typeof wantsAttribute>[1], boolean][] = [
    ['no lists', {}, true],
    ['attributes=displayName', { attributes: ['displayName'] }, false],
    ['attributes=members', { attributes: ['members'] }, true],
    ['attributes=MEMBERS.value', { attributes: ['MEMBERS.value'] }, true],
    ['excludedAttributes=members', { excludedAttributes: ['members'] }, false],
    ['excludedAttributes=Members', { excludedAttributes: ['Members'] }, false],
    ['excludedAttributes=members.display', { excludedAttributes: ['members.display'] }, true],
    ['excludedAttributes=displayName', { excludedAttributes: ['displayName'] }, true],
    ['attributes=members, excludedAttributes=members', { attributes: ['members'], excludedAttributes: ['members'] }, false],
    ['core URN alone', { attributes: ['urn:ietf:params:scim:schemas:core:2.0:Group'] }, true],
  ]
  for (const [title, opts, expected] of cases) {
    it(`group members with ${title}: ${String(expected)}`, () => {
      expect(wantsAttribute(groupResource, opts, 'members')).toBe(expected)
    })
  }

  it('user groups follows the same rules', () => {
    expect(wantsAttribute(userResource, { attributes: ['userName'] }, 'groups')).toBe(false)
    expect(wantsAttribute(userResource, { excludedAttributes: ['groups'] }, 'groups')).toBe(false)
    expect(wantsAttribute(userResource, { attributes: ['groups.display'] }, 'groups')).toBe(true)
    expect(wantsAttribute(userResource, {}, 'groups')).toBe(true)
  })

  it('id is always wanted and password never', () => {
    expect(wantsAttribute(userResource, { excludedAttributes: ['id'] }, 'id')).toBe(true)
    expect(wantsAttribute(userResource, {}, 'password')).toBe(false)
    expect(wantsAttribute(userResource, { attributes: ['password'] }, 'password')).toBe(false)
  })
})
