// Which identity provider is calling. Recorded in the provisioning log; never used to change
// behaviour: every dialect is accepted on the same tenant URL whoever sends it (issue 3).
//
// First by User-Agent, then by Entra ID's tenant URL flags; compat/rewrite.ts may refine an
// 'unknown' from the request's shape (Entra's capitalised PATCH ops, "True"/"False" strings, its
// ADSCIM group schema URN). What each identity provider is documented to send:
// - Okta: "Okta SCIM Client 1.0.0" on every request ("Okta and SCIM Version 2.0",
//   developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20).
// - Microsoft Entra ID: Microsoft does not document its User-Agent. Other SCIM servers recognise
//   "Microsoft Azure AD SCIM provisioning 1.0.0"; the pattern below also takes later names.
//   Its tenant URL may carry ?aadOptscim062020 or ?AzureAdScimPatch2017 ("Known issues and
//   resolutions with SCIM 2.0 protocol compliance", learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility).
// - JumpCloud, OneLogin, Google Workspace, PingOne, Rippling: their documentation names no
//   User-Agent; the patterns below match their product names and are unconfirmed (docs/compatibility.md).
//   PingFederate's outbound SCIM is reported to send a generic "Apache-HttpClient/x": too generic
//   to name anyone, so it stays 'unknown'.
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

/** The identity provider a request comes from, by User-Agent, then by Entra's tenant URL flags. */
export function detectIdentityProvider(userAgent: string | undefined, url: string): IdentityProvider {
  if (userAgent) for (const [re, idp] of BY_USER_AGENT) if (re.test(userAgent)) return idp
  // Entra ID appends ?aadOptscim062020 (or, to opt out, ?AzureAdScimPatch2017) to the tenant URL
  // ("Known issues and resolutions with SCIM 2.0 protocol compliance").
  if (/[?&](aadoptscim062020|azureadscimpatch2017)\b/i.test(url)) return 'entra'
  return 'unknown'
}

/** What the server learned about one SCIM request, for the provisioning log. */
export interface ScimTrace {
  /** Set from the User-Agent; compat/ may refine 'unknown' from the request's shape. */
  identityProvider: IdentityProvider
  /** Lenient readings applied to the request ("op \"Replace\" read as \"replace\"", ...). */
  readonly notes: string[]
}

/** The identity provider a trace names, or undefined while it is still 'unknown'. */
export function knownIdentityProvider(trace: ScimTrace): IdentityProvider | undefined {
  return trace.identityProvider === 'unknown' ? undefined : trace.identityProvider
}

export const IDP_NAMES: Readonly<Record<IdentityProvider, string>> = {
  entra: 'Entra ID', okta: 'Okta', jumpcloud: 'JumpCloud', onelogin: 'OneLogin', google: 'Google Workspace',
  pingone: 'PingOne', rippling: 'Rippling', unknown: 'unknown',
}

/**
 * Records a lenient reading once per request. `shapeOf` names the identity provider whose
 * dialect this shape is: when the User-Agent said nothing, the trace takes it, with a note.
 */
/** Notes one request's log row keeps: the row stays bounded whatever the request holds. */
export const MAX_NOTES = 50

export function addNote(trace: ScimTrace, text: string, shapeOf?: IdentityProvider): void {
  if (trace.notes.length < MAX_NOTES && !trace.notes.includes(text)) trace.notes.push(text)
  if (shapeOf && trace.identityProvider === 'unknown') {
    trace.identityProvider = shapeOf
    trace.notes.push(`identity provider read as ${IDP_NAMES[shapeOf]} from the request's shape`)
  }
}
