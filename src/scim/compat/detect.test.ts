import { describe, expect, it } from 'vitest'
import { detectIdentityProvider } from './detect.ts'

describe('detectIdentityProvider', () => {
  it.each([
    ['Okta SCIM Client 1.0.0', 'okta'],
    ['Microsoft.AAD.Provisioning', 'entra'],
    ['JumpCloud-SCIM', 'jumpcloud'],
    ['OneLogin SCIM', 'onelogin'],
    ['curl/8.5.0', 'unknown'],
  ])('%s -> %s', (ua, idp) => {
    expect(detectIdentityProvider(ua, '/scim/v2/Users')).toBe(idp)
  })
  it('reads Entra ID\'s tenant URL flag when the User-Agent says nothing', () => {
    expect(detectIdentityProvider(undefined, '/scim/v2/Users?aadOptscim062020')).toBe('entra')
    expect(detectIdentityProvider(undefined, '/scim/v2/Users?filter=x')).toBe('unknown')
  })
})

describe('detectIdentityProvider, documented and reported User-Agents', () => {
  it.each([
    // "Okta and SCIM Version 2.0", developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
    ['Okta SCIM Client 1.0.0', 'okta'],
    // Not documented by Microsoft; recognised by other SCIM servers.
    ['Microsoft Azure AD SCIM provisioning 1.0.0', 'entra'],
    // Too generic to name anyone (reported for PingFederate's outbound SCIM).
    ['Apache-HttpClient/4.5.13 (Java/11.0.2)', 'unknown'],
  ])('%s -> %s', (ua, idp) => {
    expect(detectIdentityProvider(ua, '/scim/v2/Users')).toBe(idp)
  })
  it('reads Entra ID\'s opt-out flag too', () => {
    expect(detectIdentityProvider(undefined, '/scim/v2/Users?AzureAdScimPatch2017')).toBe('entra')
  })
})
