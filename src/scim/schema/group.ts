// The core Group schema, RFC 7643 §4.2.
import { attr, type SchemaDef } from './types.ts'

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'

export const groupSchema: SchemaDef = Object.freeze({
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'Group',
  attributes: [
    // displayName is REQUIRED (RFC 7643 §4.2, §8.7.1); Roster keeps it unique per organization,
    // case-insensitively, so that identity providers' lookups by name find one group.
    attr('displayName', 'string', 'A human-readable name for the Group.', { required: true, uniqueness: 'server' }),
    attr('members', 'complex', 'A list of members of the Group.', {
      multiValued: true,
      subAttributes: [
        // Ids are caseExact (RFC 7643 §3.1), so member references compare exactly.
        attr('value', 'string', 'Identifier of the member of this Group.', { caseExact: true, mutability: 'immutable' }),
        attr('$ref', 'reference', 'The URI corresponding to a SCIM resource that is a member of this Group.', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attr('display', 'string', 'A human-readable name for the member.', { mutability: 'immutable' }),
        attr('type', 'string', 'A label indicating the type of resource.', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
      ],
    }),
  ],
})
