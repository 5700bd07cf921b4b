// Which identity provider is calling. Recorded in the provisioning log; never used to change
// behaviour: every dialect is accepted on the same tenant URL whoever sends it (issue 3).
export type IdentityProvider = 'entra' | 'okta' | 'jumpcloud' | 'onelogin' | 'google' | 'pingone' | 'rippling' | 'unknown'

const BY_USER_AGENT: ReadonlyArray<readonly [RegExp, IdentityProvider]> = [
  [/microsoft|azure|\baad\b|entra/i, 'entra'],
  [/okta/i, 'okta'],
  [/jumpcloud/i, 'jumpcloud'],
  [/onelogin/i, 'onelogin'],
  [/google/i, 'google'],
  [/ping ?(one|identity|fed)/i, 'pingone'],
  [/rippling/i, 'rippling'],
]

/** The identity provider a request comes from, by User-Agent, then by Entra's tenant URL flag. */
export function detectIdentityProvider(userAgent: string | undefined, url: string): IdentityProvider {
  if (userAgent) for (const [re, idp] of BY_USER_AGENT) if (re.test(userAgent)) return idp
  // Entra ID appends ?aadOptscim062020 to the tenant URL when the admin opts into its 2020
  // SCIM behaviour ("Known issues and resolutions with SCIM 2.0 protocol compliance").
  if (/[?&]aadoptscim062020\b/i.test(url)) return 'entra'
  return 'unknown'
}

/** What the server learned about one SCIM request, for the provisioning log. */
export interface ScimTrace {
  readonly identityProvider: IdentityProvider
  /** Lenient readings applied to the request ("op \"Replace\" read as \"replace\"", ...). */
  readonly notes: string[]
}
