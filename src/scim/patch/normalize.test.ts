import { describe, expect, it } from 'vitest'
import type { ScimType } from '../errors.ts'
import { groupResource, userResource } from '../schema/registry.ts'
import { PATCH_OP_SCHEMA, normalizePatch, type PatchOperation } from './normalize.ts'
import { scimErrorOf } from '../../../test/helpers/scim-error.ts'

const msg = (Operations: unknown): unknown => ({ schemas: [PATCH_OP_SCHEMA], Operations })

const ok: { name: string; body: unknown; expect: PatchOperation[] }[] = [
  {
    name: 'keeps a plain add with its parsed path',
    body: msg([{ op: 'add', path: 'displayName', value: 'B' }]),
    expect: [{ op: 'add', path: { path: { uri: null, name: 'displayName', sub: null }, filter: null, subAfterFilter: null }, value: 'B' }],
  },
  {
    name: 'matches message keys and the PatchOp URN case-insensitively',
    body: { SCHEMAS: [PATCH_OP_SCHEMA.toUpperCase()], operations: [{ OP: 'replace', Value: { active: false } }] },
    expect: [{ op: 'replace', path: null, value: { active: false } }],
  },
  {
    name: 'reads a null path as an absent one',
    body: msg([{ op: 'replace', path: null, value: { active: true } }]),
    expect: [{ op: 'replace', path: null, value: { active: true } }],
  },
  {
    name: 'keeps the value of a remove (Entra/Okta member removal)',
    body: msg([{ op: 'remove', path: 'emails', value: [{ value: 'a@x' }] }]),
    expect: [{ op: 'remove', path: { path: { uri: null, name: 'emails', sub: null }, filter: null, subAfterFilter: null }, value: [{ value: 'a@x' }] }],
  },
]

const errors: { name: string; body: unknown; scimType: ScimType; detail?: RegExp; max?: number }[] = [
  { name: 'rejects a body that is not an object', body: [], scimType: 'invalidSyntax' },
  { name: 'rejects a message without schemas', body: { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, scimType: 'invalidSyntax', detail: /PatchOp/ },
  { name: 'rejects schemas without the PatchOp URN', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], Operations: [{ op: 'remove', path: 'title' }] }, scimType: 'invalidSyntax' },
  { name: 'rejects missing Operations', body: { schemas: [PATCH_OP_SCHEMA] }, scimType: 'invalidSyntax', detail: /Operations/ },
  { name: 'rejects empty Operations', body: msg([]), scimType: 'invalidSyntax' },
  { name: 'rejects Operations that is not an array', body: msg({ op: 'add' }), scimType: 'invalidSyntax' },
  { name: 'rejects more operations than allowed with tooMany', body: msg([{ op: 'remove', path: 'title' }, { op: 'remove', path: 'title' }]), max: 1, scimType: 'tooMany' },
  { name: 'rejects an operation that is not an object', body: msg(['add']), scimType: 'invalidSyntax' },
  { name: 'rejects an unknown op', body: msg([{ op: 'merge', path: 'title', value: 'x' }]), scimType: 'invalidSyntax', detail: /merge/ },
  // Entra ID's "Replace" is read as "replace" by compat/entra.ts before the core sees it.
  { name: 'rejects a capitalised op (compat/ reads Entra ID\'s spelling first)', body: msg([{ op: 'Replace', path: 'title', value: 'x' }]), scimType: 'invalidSyntax', detail: /Replace/ },
  { name: 'rejects a missing op', body: msg([{ path: 'title', value: 'x' }]), scimType: 'invalidSyntax' },
  { name: 'rejects a path that is not a string', body: msg([{ op: 'add', path: 7, value: 'x' }]), scimType: 'invalidPath' },
  { name: 'rejects a malformed path', body: msg([{ op: 'add', path: 'emails[', value: 'x' }]), scimType: 'invalidFilter' },
  { name: 'rejects a value filter on a path naming no attribute', body: msg([{ op: 'add', path: 'favouriteColour[type eq "x"]', value: 'x' }]), scimType: 'invalidPath', detail: /favouriteColour/ },
  { name: 'rejects a remove without a path with noTarget', body: msg([{ op: 'remove' }]), scimType: 'noTarget' },
  { name: 'rejects an add without a value', body: msg([{ op: 'add', path: 'title' }]), scimType: 'invalidValue' },
  { name: 'rejects a replace without a value', body: msg([{ op: 'replace', path: 'title' }]), scimType: 'invalidValue' },
  { name: 'rejects a path-less replace whose value is not an object', body: msg([{ op: 'replace', value: false }]), scimType: 'invalidValue' },
]

describe('normalizePatch', () => {
  it.each(ok)('$name', (c) => {
    expect(normalizePatch(userResource, c.body, { maxOperations: 10 })).toStrictEqual(c.expect)
  })

  it.each(errors)('$name', (c) => {
    const e = scimErrorOf(() => normalizePatch(userResource, c.body, { maxOperations: c.max ?? 10 }))
    expect(e.status).toBe(400)
    expect(e.scimType).toBe(c.scimType)
    if (c.detail) expect(e.message).toMatch(c.detail)
  })

  it('parses a members value filter on a Group', () => {
    const [op] = normalizePatch(groupResource, msg([{ op: 'remove', path: 'members[value eq "u1"]' }]), { maxOperations: 10 })
    expect(op?.path?.filter).toMatchObject({ kind: 'compare', op: 'eq', value: 'u1' })
  })

  it('accepts exactly maxOperations operations', () => {
    expect(normalizePatch(userResource, msg([{ op: 'remove', path: 'title' }, { op: 'remove', path: 'nickName' }]), { maxOperations: 2 })).toHaveLength(2)
  })
})
