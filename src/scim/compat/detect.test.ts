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
