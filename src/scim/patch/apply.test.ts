import { describe, expect, it } from 'vitest'
import type { ScimType } from '../errors.ts'
import { groupResource, userResource, type ResourceSchema } from '../schema/registry.ts'
import { attr } from '../schema/types.ts'
import { applyPatch, type PatchResult } from './apply.ts'
import type { MemberDelta } from './members.ts'
import { PATCH_OP_SCHEMA, normalizePatch } from './normalize.ts'
import { scimErrorOf } from '../../../test/helpers/scim-error.ts'

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

type Body = Record<string, unknown>

const user = (): Body => ({
  userName: 'bjensen',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [{ value: 'b@work', type: 'work', primary: true }, { value: 'b@home', type: 'home' }],
  active: true,
  [ENT]: { department: 'Sales' },
})

const group = (): Body => ({ displayName: 'Eng' })

// A schema with an immutable attribute: the core schemas have none outside Group members.
const immutableRs: ResourceSchema = {
  ...userResource,
  core: { ...userResource.core, attributes: [...userResource.core.attributes, attr('badge', 'string', 'Set once.', { mutability: 'immutable' })] },
}

function run(rs: ResourceSchema, body: Body, operations: unknown[]): PatchResult {
  return applyPatch(rs, body, normalizePatch(rs, { schemas: [PATCH_OP_SCHEMA], Operations: operations }, { maxOperations: 100 }))
}

interface BodyCase {
  readonly name: string
  readonly rs?: ResourceSchema
  readonly body?: Body
  readonly ops: unknown[]
  /** Expected body, or a function of the starting body. */
  readonly expect: Body | ((b: Body) => Body)
  readonly changed?: boolean
}

const bodyCases: BodyCase[] = [
  // add (RFC 7644 §3.5.2.1)
  { name: 'add to a single-valued attribute sets it', ops: [{ op: 'add', path: 'displayName', value: 'Babs' }], expect: (b) => ({ ...b, displayName: 'Babs' }) },
  { name: 'add to a set single-valued attribute replaces it', ops: [{ op: 'add', path: 'active', value: false }], expect: (b) => ({ ...b, active: false }) },
  {
    name: 'add to a multi-valued attribute appends',
    ops: [{ op: 'add', path: 'emails', value: [{ value: 'b@other', type: 'other' }] }],
    expect: (b) => ({ ...b, emails: [...(b.emails as unknown[]), { value: 'b@other', type: 'other' }] }),
  },
  {
    name: 'add to a multi-valued attribute skips exact duplicates',
    ops: [{ op: 'add', path: 'emails', value: [{ value: 'b@home', type: 'home' }] }],
    expect: user(),
    changed: false,
  },
  {
    name: 'add of a primary value clears primary on the others',
    ops: [{ op: 'add', path: 'emails', value: { value: 'n@x', type: 'other', primary: true } }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work' }, { value: 'b@home', type: 'home' }, { value: 'n@x', type: 'other', primary: true }] }),
  },
  {
    name: 'add to a single-valued complex attribute merges sub-attributes',
    ops: [{ op: 'add', path: 'name', value: { middleName: 'J' } }],
    expect: (b) => ({ ...b, name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'J' } }),
  },
  { name: 'add of a sub-attribute sets it', ops: [{ op: 'add', path: 'name.honorificPrefix', value: 'Ms.' }], expect: (b) => ({ ...b, name: { givenName: 'Barbara', familyName: 'Jensen', honorificPrefix: 'Ms.' } }) },
  {
    name: 'Entra: add emails[type eq "work"].value creates the element when none matches',
    body: { userName: 'b' },
    ops: [{ op: 'add', path: 'emails[type eq "work"].value', value: 'b@work' }],
    expect: { userName: 'b', emails: [{ type: 'work', value: 'b@work' }] },
  },
  {
    name: 'add with a filter path sets the sub-attribute of a matching element',
    ops: [{ op: 'add', path: 'emails[type eq "home"].value', value: 'h2@home' }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work', primary: true }, { value: 'h2@home', type: 'home' }] }),
  },
  {
    name: 'add with an "and" filter creates an element with every eq value, and its primary wins',
    ops: [{ op: 'add', path: 'emails[type eq "other" and primary eq true].value', value: 'o@x' }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work' }, { value: 'b@home', type: 'home' }, { type: 'other', primary: true, value: 'o@x' }] }),
  },
  {
    name: 'add of an extension attribute by URN path creates the extension object',
    body: { userName: 'b' },
    ops: [{ op: 'add', path: `${ENT}:department`, value: 'Ops' }],
    expect: { userName: 'b', [ENT]: { department: 'Ops' } },
  },
  { name: 'add of null changes nothing', ops: [{ op: 'add', path: 'displayName', value: null }], expect: user(), changed: false },
  {
    name: 'Entra: path-less Add resolves dotted and schema-qualified keys',
    ops: [{
      op: 'add',
      value: { 'name.givenName': 'Babs', [`${ENT}:department`]: 'Ops', [`${ENT}:manager.value`]: 'm1', title: 'CEO' },
    }],
    expect: (b) => ({ ...b, name: { givenName: 'Babs', familyName: 'Jensen' }, title: 'CEO', [ENT]: { department: 'Ops', manager: { value: 'm1' } } }),
  },
  {
    name: 'path-less add accepts a core-schema-qualified key',
    ops: [{ op: 'add', value: { 'urn:ietf:params:scim:schemas:core:2.0:User:displayName': 'Babs' } }],
    expect: (b) => ({ ...b, displayName: 'Babs' }),
  },
  {
    name: 'path-less add ignores a schemas key',
    ops: [{ op: 'add', value: { schemas: ['x'], nickName: 'B' } }],
    expect: (b) => ({ ...b, nickName: 'B' }),
  },
  // replace (RFC 7644 §3.5.2.3)
  { name: 'Okta: path-less replace {"active":false} deactivates', ops: [{ op: 'replace', value: { active: false } }], expect: (b) => ({ ...b, active: false }) },
  { name: 'Entra: replace of active by path', ops: [{ op: 'replace', path: 'active', value: false }], expect: (b) => ({ ...b, active: false }) },
  {
    name: 'replace of a multi-valued attribute replaces every value',
    ops: [{ op: 'replace', path: 'emails', value: [{ value: 'only@x' }] }],
    expect: (b) => ({ ...b, emails: [{ value: 'only@x' }] }),
  },
  {
    name: 'replace of a complex attribute merges, and a null sub-attribute unassigns it',
    ops: [{ op: 'replace', path: 'name', value: { givenName: 'Babs', familyName: null } }],
    expect: (b) => ({ ...b, name: { givenName: 'Babs' } }),
  },
  {
    name: 'replace emails[type eq "work"].value replaces that sub-attribute only',
    ops: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@work' }],
    expect: (b) => ({ ...b, emails: [{ value: 'new@work', type: 'work', primary: true }, { value: 'b@home', type: 'home' }] }),
  },
  {
    name: 'replace with a filter changes every matching element',
    body: { userName: 'b', phoneNumbers: [{ value: '1', type: 'work' }, { value: '2', type: 'work' }, { value: '3', type: 'home' }] },
    ops: [{ op: 'replace', path: 'phoneNumbers[type eq "work"].display', value: 'desk' }],
    expect: { userName: 'b', phoneNumbers: [{ value: '1', type: 'work', display: 'desk' }, { value: '2', type: 'work', display: 'desk' }, { value: '3', type: 'home' }] },
  },
  {
    name: 'replace with a filter and no sub-attribute replaces the whole element',
    ops: [{ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'h2', type: 'home' } }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work', primary: true }, { value: 'h2', type: 'home' }] }),
  },
  {
    name: 'replace setting primary through a filter clears primary on the others',
    ops: [{ op: 'replace', path: 'emails[type eq "home"].primary', value: true }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work' }, { value: 'b@home', type: 'home', primary: true }] }),
  },
  { name: 'replace of an unset attribute adds it', ops: [{ op: 'replace', path: 'nickName', value: 'B' }], expect: (b) => ({ ...b, nickName: 'B' }) },
  {
    name: 'replace of a sub-attribute without a filter on an empty multi-valued attribute adds a value',
    ops: [{ op: 'replace', path: 'addresses.country', value: 'NL' }],
    expect: (b) => ({ ...b, addresses: [{ country: 'NL' }] }),
  },
  {
    name: 'path-less replace ignores readOnly keys (id, meta, groups) like a full representation',
    ops: [{ op: 'replace', value: { id: 'x', meta: { version: 'W/"1"' }, 'meta.created': '2024-01-01T00:00:00Z', groups: [{ value: 'g' }], active: false } }],
    expect: (b) => ({ ...b, active: false }),
  },
  { name: 'path-less replace of only readOnly keys changes nothing', ops: [{ op: 'replace', value: { id: 'x' } }], expect: user(), changed: false },
  { name: 'replace with null unassigns', ops: [{ op: 'replace', path: 'active', value: null }], expect: (b) => { const { active: _a, ...rest } = b; return rest } },
  { name: 'replace with the current value reports no change', ops: [{ op: 'replace', path: 'userName', value: 'bjensen' }], expect: user(), changed: false },
  {
    name: 'path-less replace with an extension URN key replaces its attributes',
    ops: [{ op: 'replace', value: { [ENT.toLowerCase()]: { Department: 'Ops', costCenter: 'C1' } } }],
    expect: (b) => ({ ...b, [ENT]: { department: 'Ops', costCenter: 'C1' } }),
  },
  // remove (RFC 7644 §3.5.2.2)
  { name: 'remove of an attribute drops it', ops: [{ op: 'remove', path: 'active' }], expect: (b) => { const { active: _a, ...rest } = b; return rest } },
  { name: 'remove of a sub-attribute drops it', ops: [{ op: 'remove', path: 'name.givenName' }], expect: (b) => ({ ...b, name: { familyName: 'Jensen' } }) },
  { name: 'remove of an absent attribute changes nothing', ops: [{ op: 'remove', path: 'nickName' }], expect: user(), changed: false },
  {
    name: 'remove with a filter drops the matching elements',
    ops: [{ op: 'remove', path: 'emails[type eq "home"]' }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work', primary: true }] }),
  },
  {
    name: 'remove with a filter and sub-attribute drops it from matching elements',
    ops: [{ op: 'remove', path: 'emails[type eq "work"].primary' }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work' }, { value: 'b@home', type: 'home' }] }),
  },
  { name: 'remove with a filter matching nothing changes nothing', ops: [{ op: 'remove', path: 'emails[type eq "other"]' }], expect: user(), changed: false },
  {
    name: 'remove of every element unassigns the attribute',
    ops: [{ op: 'remove', path: 'emails[type eq "home" or type eq "work"]' }],
    expect: (b) => { const { emails: _e, ...rest } = b; return rest },
  },
  {
    name: 'remove with a value list removes those values (by value, case-insensitively for emails)',
    ops: [{ op: 'remove', path: 'emails', value: [{ value: 'B@HOME' }] }],
    expect: (b) => ({ ...b, emails: [{ value: 'b@work', type: 'work', primary: true }] }),
  },
  {
    name: 'remove of the last extension attribute drops the extension object',
    ops: [{ op: 'remove', path: `${ENT}:department` }],
    expect: (b) => { const { [ENT]: _x, ...rest } = b; return rest },
  },
  { name: 'remove of an extension attribute the user lacks changes nothing', body: { userName: 'b' }, ops: [{ op: 'remove', path: `${ENT}:manager` }], expect: { userName: 'b' }, changed: false },
  // immutable (RFC 7643 §2.2)
  { name: 'an immutable attribute may be added when unset', rs: immutableRs, ops: [{ op: 'add', path: 'badge', value: 'B1' }], expect: (b) => ({ ...b, badge: 'B1' }) },
  { name: 'an immutable attribute may be "replaced" with its current value', rs: immutableRs, body: { ...user(), badge: 'B1' }, ops: [{ op: 'replace', path: 'badge', value: 'B1' }], expect: (b) => b, changed: false },
]

interface ErrCase {
  readonly name: string
  readonly rs?: ResourceSchema
  readonly body?: Body
  readonly ops: unknown[]
  readonly scimType: ScimType
  readonly detail?: RegExp
}

const errorCases: ErrCase[] = [
  { name: 'replace of id is a mutability error', ops: [{ op: 'replace', path: 'id', value: 'x' }], scimType: 'mutability', detail: /"id" is readOnly/ },
  { name: 'add of meta.lastModified is a mutability error', ops: [{ op: 'add', path: 'meta.lastModified', value: '2024-01-01T00:00:00Z' }], scimType: 'mutability' },
  { name: 'remove of groups is a mutability error', ops: [{ op: 'remove', path: 'groups' }], scimType: 'mutability' },
  { name: 'replace of a readOnly sub-attribute is a mutability error', ops: [{ op: 'replace', path: `${ENT}:manager.displayName`, value: 'x' }], scimType: 'mutability' },
  { name: 'changing a set immutable attribute is a mutability error', rs: immutableRs, body: { ...user(), badge: 'B1' }, ops: [{ op: 'replace', path: 'badge', value: 'B2' }], scimType: 'mutability', detail: /immutable/ },
  { name: 'removing a set immutable attribute is a mutability error', rs: immutableRs, body: { ...user(), badge: 'B1' }, ops: [{ op: 'remove', path: 'badge' }], scimType: 'mutability' },
  { name: 'an unknown sub-attribute after a filter is invalidPath', ops: [{ op: 'replace', path: 'emails[type eq "work"].label', value: 'x' }], scimType: 'invalidPath' },
  { name: 'a filter on a single-valued attribute is invalidPath', ops: [{ op: 'replace', path: 'name[givenName eq "B"].familyName', value: 'x' }], scimType: 'invalidPath' },
  { name: 'a value filter on an undeclared attribute is invalidPath', ops: [{ op: 'replace', path: 'badges[type eq "x"].value', value: 'x' }], scimType: 'invalidPath' },
  { name: 'replace with a filter that is not only eq terms and matches nothing is noTarget', ops: [{ op: 'replace', path: 'emails[value co "zzz"].type', value: 'x' }], scimType: 'noTarget' },
  { name: 'an extension URN path with a value that is not an object is invalidValue', ops: [{ op: 'add', path: ENT, value: 'Sales' }], scimType: 'invalidValue' },
  { name: 'remove with the core schema URN as the path is invalidPath', ops: [{ op: 'remove', path: 'urn:ietf:params:scim:schemas:core:2.0:User' }], scimType: 'invalidPath' },
  { name: 'a filter with a wrong-typed value is invalidFilter even when there are no values', body: { userName: 'b' }, ops: [{ op: 'remove', path: 'emails[primary eq "yes"]' }], scimType: 'invalidFilter' },
  { name: 'add with a filter and a non-object value is invalidValue', body: { userName: 'b' }, ops: [{ op: 'add', path: 'emails[type eq "work"]', value: 'w@x' }], scimType: 'invalidValue' },
  { name: 'add with a non-eq filter matching nothing is noTarget', ops: [{ op: 'add', path: 'emails[value co "zzz"].type', value: 'work' }], scimType: 'noTarget' },
  { name: 'a string for a boolean is invalidValue (no "True" coercion here)', ops: [{ op: 'replace', path: 'active', value: 'False' }], scimType: 'invalidValue', detail: /"active" must be a boolean/ },
  { name: 'a path-less string for a boolean is invalidValue', ops: [{ op: 'replace', value: { active: 'True' } }], scimType: 'invalidValue' },
  { name: 'a wrong-typed sub-attribute is invalidValue', ops: [{ op: 'add', path: 'emails', value: [{ value: 5 }] }], scimType: 'invalidValue', detail: /emails\[0\]\.value/ },
  { name: 'removing userName is invalidValue', ops: [{ op: 'remove', path: 'userName' }], scimType: 'invalidValue', detail: /userName/ },
  { name: 'replacing userName with an empty string is invalidValue', ops: [{ op: 'replace', path: 'userName', value: '' }], scimType: 'invalidValue' },
  { name: 'adding two primary values at once is invalidValue', ops: [{ op: 'add', path: 'emails', value: [{ value: 'a', primary: true }, { value: 'c', primary: true }] }], scimType: 'invalidValue', detail: /primary/ },
  {
    name: 'making two matched elements primary at once is invalidValue',
    body: { userName: 'b', phoneNumbers: [{ value: '1', type: 'work' }, { value: '2', type: 'work' }] },
    ops: [{ op: 'replace', path: 'phoneNumbers[type eq "work"].primary', value: true }],
    scimType: 'invalidValue',
  },
  { name: 'removing values with a non-object item is invalidValue', ops: [{ op: 'remove', path: 'emails', value: ['b@home'] }], scimType: 'invalidValue' },
  { name: 'a non-string password is invalidValue', ops: [{ op: 'replace', path: 'password', value: 5 }], scimType: 'invalidValue' },
  // Group members
  { name: 'a members filter on display is invalidFilter', rs: groupResource, body: group(), ops: [{ op: 'remove', path: 'members[display eq "Babs"]' }], scimType: 'invalidFilter', detail: /value eq/ },
  { name: 'a members filter with co is invalidFilter', rs: groupResource, body: group(), ops: [{ op: 'remove', path: 'members[value co "u"]' }], scimType: 'invalidFilter' },
  { name: 'a members filter joined by and is invalidFilter', rs: groupResource, body: group(), ops: [{ op: 'remove', path: 'members[value eq "a" and value eq "b"]' }], scimType: 'invalidFilter' },
  { name: 'a members filter on add is invalidPath', rs: groupResource, body: group(), ops: [{ op: 'add', path: 'members[value eq "a"]', value: { value: 'a' } }], scimType: 'invalidPath' },
  { name: 'a members sub-attribute path is a mutability error', rs: groupResource, body: group(), ops: [{ op: 'replace', path: 'members[value eq "a"].display', value: 'x' }], scimType: 'mutability' },
  { name: 'a member ref that is not an object is invalidValue', rs: groupResource, body: group(), ops: [{ op: 'add', path: 'members', value: ['u1'] }], scimType: 'invalidValue' },
  { name: 'a member ref without a value is invalidValue', rs: groupResource, body: group(), ops: [{ op: 'add', path: 'members', value: [{ display: 'x' }] }], scimType: 'invalidValue' },
  { name: 'removing a group displayName is invalidValue', rs: groupResource, body: group(), ops: [{ op: 'remove', path: 'displayName' }], scimType: 'invalidValue' },
]

interface MemberCase {
  readonly name: string
  readonly ops: unknown[]
  readonly members: MemberDelta | null
  readonly body?: Body
}

const none = { replaceAll: null, add: [], remove: [], removeAll: false }

const memberCases: MemberCase[] = [
  { name: 'add members becomes delta.add', ops: [{ op: 'add', path: 'members', value: [{ value: 'u1' }, { value: 'u2', type: 'User' }] }], members: { ...none, add: [{ value: 'u1' }, { value: 'u2', type: 'User' }] } },
  { name: 'Okta: add a member with display', ops: [{ op: 'add', path: 'members', value: [{ value: 'u1', display: 'b@x' }] }], members: { ...none, add: [{ value: 'u1', display: 'b@x' }] } },
  { name: 'Okta: remove members[value eq "x"] becomes delta.remove', ops: [{ op: 'remove', path: 'members[value eq "u1"]' }], members: { ...none, remove: ['u1'] } },
  { name: 'Entra: Remove members with a value list becomes delta.remove', ops: [{ op: 'remove', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }], members: { ...none, remove: ['u1', 'u2'] } },
  { name: 'remove members[value eq a or value eq b] removes both', ops: [{ op: 'remove', path: 'members[value eq "a" or value eq "b"]' }], members: { ...none, remove: ['a', 'b'] } },
  { name: 'remove members without a value removes all', ops: [{ op: 'remove', path: 'members' }], members: { ...none, removeAll: true } },
  { name: 'replace members becomes replaceAll', ops: [{ op: 'replace', path: 'members', value: [{ value: 'u1' }] }], members: { ...none, replaceAll: [{ value: 'u1' }] } },
  { name: 'replace members with an empty list replaces all with none', ops: [{ op: 'replace', path: 'members', value: [] }], members: { ...none, replaceAll: [] } },
  {
    name: 'path-less replace with displayName and members changes both',
    ops: [{ op: 'replace', value: { displayName: 'Eng2', members: [{ value: 'u1' }] } }],
    members: { ...none, replaceAll: [{ value: 'u1' }] },
    body: { displayName: 'Eng2' },
  },
  { name: 'path-less add with members becomes delta.add', ops: [{ op: 'add', value: { members: [{ value: 'u1' }] } }], members: { ...none, add: [{ value: 'u1' }] } },
  // composition, in order
  { name: 'add x then remove x leaves x removed and not added', ops: [{ op: 'add', path: 'members', value: [{ value: 'x' }] }, { op: 'remove', path: 'members[value eq "x"]' }], members: { ...none, remove: ['x'] } },
  { name: 'remove x then add x leaves x added and not removed', ops: [{ op: 'remove', path: 'members[value eq "x"]' }, { op: 'add', path: 'members', value: [{ value: 'x' }] }], members: { ...none, add: [{ value: 'x' }] } },
  { name: 'adding the same member twice keeps it once', ops: [{ op: 'add', path: 'members', value: [{ value: 'x' }] }, { op: 'add', path: 'members', value: [{ value: 'x' }] }], members: { ...none, add: [{ value: 'x' }] } },
  { name: 'replaceAll then add merges into the replaceAll list', ops: [{ op: 'replace', path: 'members', value: [{ value: 'x' }] }, { op: 'add', path: 'members', value: [{ value: 'y' }, { value: 'x' }] }], members: { ...none, replaceAll: [{ value: 'x' }, { value: 'y' }] } },
  { name: 'replaceAll then remove removes from the replaceAll list', ops: [{ op: 'replace', path: 'members', value: [{ value: 'x' }, { value: 'y' }] }, { op: 'remove', path: 'members[value eq "x"]' }], members: { ...none, replaceAll: [{ value: 'y' }] } },
  { name: 'add then replaceAll discards the earlier add', ops: [{ op: 'add', path: 'members', value: [{ value: 'x' }] }, { op: 'replace', path: 'members', value: [{ value: 'y' }] }], members: { ...none, replaceAll: [{ value: 'y' }] } },
  { name: 'removeAll then add keeps removeAll and adds', ops: [{ op: 'remove', path: 'members' }, { op: 'add', path: 'members', value: [{ value: 'y' }] }], members: { ...none, removeAll: true, add: [{ value: 'y' }] } },
  { name: 'removeAll then remove x needs no extra row', ops: [{ op: 'remove', path: 'members' }, { op: 'remove', path: 'members[value eq "x"]' }], members: { ...none, removeAll: true } },
  { name: 'remove with an empty value list is no delta', ops: [{ op: 'remove', path: 'members', value: [] }], members: null },
  {
    name: 'Okta: path-less replace renaming a group ignores its id',
    ops: [{ op: 'replace', value: { id: 'abf4dd94-a4c0-4f67-89c9-76b03340cb9b', displayName: 'Test SCIMv2' } }],
    members: null,
    body: { displayName: 'Test SCIMv2' },
  },
  { name: 'an op on displayName only gives no delta', ops: [{ op: 'replace', path: 'displayName', value: 'Eng2' }], members: null, body: { displayName: 'Eng2' } },
]

describe('applyPatch: body', () => {
  it.each(bodyCases)('$name', (c) => {
    const start = c.body ?? user()
    const r = run(c.rs ?? userResource, structuredClone(start), c.ops)
    expect(r.body).toStrictEqual(typeof c.expect === 'function' ? c.expect(structuredClone(start)) : c.expect)
    expect(r.changed).toBe(c.changed ?? true)
    expect(r.members).toBeNull()
    expect(r.password).toBeUndefined()
  })
})

describe('applyPatch: errors', () => {
  it.each(errorCases)('$name', (c) => {
    const e = scimErrorOf(() => run(c.rs ?? userResource, c.body ?? user(), c.ops))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe(c.scimType)
    if (c.detail) expect(e.message).toMatch(c.detail)
  })
})

describe('applyPatch: group members become a delta', () => {
  it.each(memberCases)('$name', (c) => {
    const r = run(groupResource, group(), c.ops)
    expect(r.members).toStrictEqual(c.members)
    expect(r.body).toStrictEqual(c.body ?? group())
    expect(r.body).not.toHaveProperty('members')
    expect(r.changed).toBe(c.members !== null || c.body !== undefined)
  })
})

describe('applyPatch: password', () => {
  it.each([
    { name: 'replace password returns it and keeps it out of the body', ops: [{ op: 'replace', path: 'password', value: 'n3w' }], password: 'n3w' },
    { name: 'path-less replace with a password key returns it', ops: [{ op: 'replace', value: { password: 'n3w', active: true } }], password: 'n3w' },
    { name: 'remove password clears it', ops: [{ op: 'remove', path: 'password' }], password: null },
  ])('$name', (c) => {
    const r = run(userResource, user(), c.ops)
    expect(r.password).toBe(c.password)
    expect(r.body).toStrictEqual(user())
    expect(r.changed).toBe(true)
  })
})

describe('applyPatch: all or nothing', () => {
  it('an op list whose 3rd op fails leaves the input unchanged', () => {
    const input = user()
    const before = structuredClone(input)
    const e = scimErrorOf(() => run(userResource, input, [
      { op: 'replace', path: 'active', value: false },
      { op: 'add', path: 'emails', value: [{ value: 'new@x', primary: true }] },
      { op: 'replace', path: 'id', value: 'stolen' },
    ]))
    expect(e.scimType).toBe('mutability')
    expect(input).toStrictEqual(before)
  })

  it('a successful patch does not modify its input either', () => {
    const input = user()
    const before = structuredClone(input)
    const r = run(userResource, input, [{ op: 'remove', path: 'emails[type eq "home"]' }, { op: 'replace', path: 'name.givenName', value: 'B' }])
    expect(input).toStrictEqual(before)
    expect(r.body).not.toStrictEqual(before)
  })

  it('ops apply in order: a later op sees an earlier one', () => {
    const r = run(userResource, { userName: 'b' }, [
      { op: 'add', path: 'emails[type eq "work"].value', value: 'w@x' },
      { op: 'replace', path: 'emails[type eq "work"].primary', value: true },
    ])
    expect(r.body.emails).toStrictEqual([{ type: 'work', value: 'w@x', primary: true }])
  })
})

describe('applyPatch: undeclared attributes (kept as custom attributes, like a create)', () => {
  const runCustom = (custom: Body | null, operations: unknown[], rs: ResourceSchema = userResource, body: Body = user()) =>
    applyPatch(rs, body, normalizePatch(rs, { schemas: [PATCH_OP_SCHEMA], Operations: operations }, { maxOperations: 100 }), rs === userResource ? custom : undefined)

  it('add, replace and remove of an undeclared top-level attribute change the custom attributes, not the body', () => {
    const a = runCustom(null, [{ op: 'add', path: 'favouriteColour', value: 'blue' }])
    expect(a.custom).toEqual({ favouriteColour: 'blue' })
    expect(a.body).toEqual(user())
    expect(a.changed).toBe(true)
    expect(a.notes.join()).toMatch(/favouriteColour.*kept as a custom attribute/)
    expect(runCustom({ favouriteColour: 'blue', x: 1 }, [{ op: 'replace', path: 'favouriteColour', value: 'red' }]).custom).toEqual({ favouriteColour: 'red', x: 1 })
    expect(runCustom({ favouriteColour: 'blue' }, [{ op: 'remove', path: 'favouriteColour' }]).custom).toBeNull()
    // Removing what is not there changes nothing.
    const none = runCustom({ x: 1 }, [{ op: 'remove', path: 'favouriteColour' }])
    expect(none.custom).toBeUndefined()
    expect(none.changed).toBe(false)
  })

  it('path-less keys, dotted paths and undeclared schema URNs land in the custom attributes', () => {
    const r = runCustom({ tags: ['a'] }, [
      { op: 'add', value: { favouriteColour: 'blue', 'urn:example:custom:2.0:User:badge': 'B1' } },
      { op: 'add', path: 'tags', value: ['b', 'a'] },
      { op: 'add', path: 'shoe.size', value: 42 },
      { op: 'add', value: { 'urn:example:other:2.0:User': { costCentre: 'CC-1' } } },
    ])
    expect(r.custom).toEqual({
      tags: ['a', 'b'], favouriteColour: 'blue', shoe: { size: 42 },
      'urn:example:custom:2.0:User': { badge: 'B1' }, 'urn:example:other:2.0:User': { costCentre: 'CC-1' },
    })
    expect(runCustom(r.custom ?? null, [{ op: 'remove', path: 'urn:example:custom:2.0:User:badge' }]).custom).not.toHaveProperty(['urn:example:custom:2.0:User'])
  })

  it('an undeclared sub-attribute, or an undeclared attribute of a declared extension, is ignored with a note', () => {
    const r = runCustom(null, [{ op: 'replace', path: 'name.nickname', value: 'Babs' }, { op: 'add', path: `${ENT}:shoeSize`, value: 42 }])
    expect(r.changed).toBe(false)
    expect(r.custom).toBeUndefined()
    expect(r.notes).toEqual(['"name.nickname" is not declared by the User schemas: ignored', `"${ENT}:shoeSize" is not declared by the User schemas: ignored`])
    expect(runCustom(null, [{ op: 'replace', path: 'schemas', value: ['x'] }]).custom).toBeUndefined()
  })

  it('a group keeps no undeclared attributes: they are ignored with a note', () => {
    const r = runCustom(null, [{ op: 'add', path: 'favouriteColour', value: 'blue' }], groupResource, group())
    expect(r.changed).toBe(false)
    expect(r.notes.join()).toMatch(/favouriteColour.*ignored/)
  })
})

describe('applyPatch: an extension URN as the path', () => {
  it('add merges the extension\'s attributes, replace replaces the object, remove removes it', () => {
    const add = run(userResource, user(), [{ op: 'add', path: ENT, value: { costCenter: 'CC', department: 'Eng' } }])
    expect(add.body[ENT]).toEqual({ department: 'Eng', costCenter: 'CC' })
    const base = { ...user(), [ENT]: { department: 'Sales', costCenter: 'CC' } }
    const rep = run(userResource, base, [{ op: 'replace', path: ENT, value: { division: 'D' } }])
    expect(rep.body[ENT]).toEqual({ division: 'D' })
    const rem = run(userResource, base, [{ op: 'remove', path: ENT }])
    expect(rem.body).not.toHaveProperty([ENT])
    expect(rem.changed).toBe(true)
    // Case-insensitive URN (RFC 7643 §2.1), and a remove of an absent extension changes nothing.
    expect(run(userResource, { userName: 'b' }, [{ op: 'remove', path: ENT.toLowerCase() }]).changed).toBe(false)
    // The core schema's URN as a path carries core attributes, read as a path-less value.
    expect(run(userResource, user(), [{ op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User', value: { displayName: 'Babs' } }]).body.displayName).toBe('Babs')
  })
})

describe('applyPatch: replace through a value filter that matches nothing adds the value (Entra ID)', () => {
  it('addresses[type eq "work"].formatted on a user without a work address', () => {
    const r = run(userResource, user(), [{ op: 'replace', path: 'addresses[type eq "work"].formatted', value: '1 Main St' }])
    expect(r.body.addresses).toEqual([{ type: 'work', formatted: '1 Main St' }])
    const again = run(userResource, r.body, [{ op: 'replace', path: 'addresses[type eq "work"].formatted', value: '2 Main St' }])
    expect(again.body.addresses).toEqual([{ type: 'work', formatted: '2 Main St' }])
  })
})
