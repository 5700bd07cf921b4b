// The core User schema, RFC 7643 §4.1 and its §8.7.1 representation.
import { attr, multiValuedSubs, type SchemaDef } from './types.ts'

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'

const typeWHO = ['work', 'home', 'other']

export const userSchema: SchemaDef = Object.freeze({
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    // RFC 7643 §4.1.1: userName is REQUIRED, unique within the service provider, caseExact false.
    attr('userName', 'string', 'Unique identifier for the User, typically used by the user to directly authenticate to the service provider.', { required: true, uniqueness: 'server' }),
    attr('name', 'complex', 'The components of the user\'s real name.', {
      subAttributes: [
        attr('formatted', 'string', 'The full name, including all middle names, titles, and suffixes as appropriate, formatted for display.'),
        attr('familyName', 'string', 'The family name of the User.'),
        attr('givenName', 'string', 'The given name of the User.'),
        attr('middleName', 'string', 'The middle name(s) of the User.'),
        attr('honorificPrefix', 'string', 'The honorific prefix(es) of the User.'),
        attr('honorificSuffix', 'string', 'The honorific suffix(es) of the User.'),
      ],
    }),
    attr('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
    attr('nickName', 'string', 'The casual way to address the user in real life.'),
    attr('profileUrl', 'reference', 'A fully qualified URL pointing to a page representing the User\'s online profile.', { referenceTypes: ['external'] }),
    attr('title', 'string', 'The user\'s title, such as "Vice President."'),
    attr('userType', 'string', 'Used to identify the relationship between the organization and the user.'),
    attr('preferredLanguage', 'string', 'Indicates the User\'s preferred written or spoken language.'),
    attr('locale', 'string', 'Used to indicate the User\'s default location for purposes of localizing items such as currency.'),
    attr('timezone', 'string', 'The User\'s time zone in the "Olson" time zone database format.'),
    attr('active', 'boolean', 'A Boolean value indicating the User\'s administrative status.'),
    // RFC 7643 §4.1.1: password is writeOnly, returned never; §9.2: never stored in clear.
    attr('password', 'string', 'The User\'s cleartext password.', { mutability: 'writeOnly', returned: 'never', caseExact: true }),
    attr('emails', 'complex', 'Email addresses for the user.', { multiValued: true, subAttributes: multiValuedSubs('string', 'Email addresses for the user.', { typeValues: typeWHO }) }),
    attr('phoneNumbers', 'complex', 'Phone numbers for the User.', { multiValued: true, subAttributes: multiValuedSubs('string', 'Phone number of the User.', { typeValues: ['work', 'home', 'mobile', 'fax', 'pager', 'other'] }) }),
    attr('ims', 'complex', 'Instant messaging addresses for the User.', { multiValued: true, subAttributes: multiValuedSubs('string', 'Instant messaging address for the User.', { typeValues: ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'] }) }),
    attr('photos', 'complex', 'URLs of photos of the User.', { multiValued: true, subAttributes: multiValuedSubs('reference', 'URL of a photo of the User.', { typeValues: ['photo', 'thumbnail'], valueRest: { referenceTypes: ['external'] } }) }),
    attr('addresses', 'complex', 'A physical mailing address for this User.', {
      multiValued: true,
      subAttributes: [
        attr('formatted', 'string', 'The full mailing address, formatted for display or use with a mailing label.'),
        attr('streetAddress', 'string', 'The full street address component.'),
        attr('locality', 'string', 'The city or locality component.'),
        attr('region', 'string', 'The state or region component.'),
        attr('postalCode', 'string', 'The zip code or postal code component.'),
        attr('country', 'string', 'The country name component.'),
        attr('type', 'string', 'A label indicating the attribute\'s function.', { canonicalValues: typeWHO }),
        attr('primary', 'boolean', 'A Boolean value indicating the preferred address.'),
      ],
    }),
    // RFC 7643 §4.1.2: groups is readOnly, computed from membership.
    attr('groups', 'complex', 'A list of groups to which the user belongs.', {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        // Ids are caseExact (RFC 7643 §3.1), so group references compare exactly.
        attr('value', 'string', 'The identifier of the User\'s group.', { caseExact: true, mutability: 'readOnly' }),
        attr('$ref', 'reference', 'The URI of the corresponding Group resource.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', 'A human-readable name.', { mutability: 'readOnly' }),
        attr('type', 'string', 'direct or indirect membership.', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    attr('entitlements', 'complex', 'A list of entitlements for the User.', { multiValued: true, subAttributes: multiValuedSubs('string', 'The value of an entitlement.') }),
    attr('roles', 'complex', 'A list of roles for the User.', { multiValued: true, subAttributes: multiValuedSubs('string', 'The value of a role.') }),
    attr('x509Certificates', 'complex', 'A list of certificates issued to the User.', { multiValued: true, subAttributes: multiValuedSubs('binary', 'The value of an X.509 certificate.') }),
  ],
})
