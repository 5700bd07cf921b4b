// Where each identity provider takes the values (their public setup guides: Microsoft Learn
// "Tutorial: Develop and plan provisioning for a SCIM endpoint"; Okta "Add SCIM provisioning to
// app integrations"; JumpCloud "Configure SCIM for a custom application"; OneLogin "SCIM
// provisioning"; Google Workspace "Automated user provisioning (custom SAML apps)"; PingOne
// "Provisioning: SCIM outbound"). Field names are those the vendors' pages use.
export interface IdpGuide {
  readonly id: string
  readonly name: string
  readonly urlField: string
  readonly tokenField: string
  readonly steps: readonly string[]
}

export const IDPS: readonly IdpGuide[] = [
  {
    id: 'entra', name: 'Microsoft Entra ID', urlField: 'Tenant URL', tokenField: 'Secret Token',
    steps: [
      'Entra admin center → Enterprise applications → New application → Create your own application (non-gallery).',
      'Provisioning → Provisioning Mode: Automatic. Paste the Tenant URL and the Secret Token below, then Test Connection.',
      'Mappings: keep userPrincipalName → userName as the matching attribute.',
      'Assign users and groups, then Start provisioning.',
    ],
  },
  {
    id: 'okta', name: 'Okta', urlField: 'SCIM connector base URL', tokenField: 'Authorization (HTTP Header)',
    steps: [
      'Applications → your app integration → General: enable SCIM provisioning.',
      'Provisioning → Integration: paste the SCIM connector base URL; Unique identifier field for users: userName.',
      'Supported provisioning actions: Push New Users, Push Profile Updates, Push Groups. Authentication Mode: HTTP Header; paste the token as Authorization.',
      'Test Connector Configuration, then under To App enable Create, Update and Deactivate Users.',
    ],
  },
  {
    id: 'jumpcloud', name: 'JumpCloud', urlField: 'Base URL', tokenField: 'Token Key',
    steps: [
      'SSO Applications → your application → Identity Management: choose SCIM 2.0.',
      'Paste the Base URL and the Token Key; Test Connection, then Activate.',
      'Bind user groups to the application to provision their members.',
    ],
  },
  {
    id: 'onelogin', name: 'OneLogin', urlField: 'SCIM Base URL', tokenField: 'SCIM Bearer Token',
    steps: [
      'Applications → your SCIM application → Configuration: paste the SCIM Base URL and the SCIM Bearer Token, then Enable the API connection.',
      'Provisioning: enable provisioning; SCIM Username maps to userName.',
    ],
  },
  {
    id: 'google', name: 'Google Workspace', urlField: 'Endpoint URL', tokenField: 'Access token',
    steps: [
      'Admin console → Apps → Web and mobile apps → your app → Auto-provisioning.',
      'Paste the endpoint URL and the access token; map the primary email to userName.',
      'Choose the groups in scope and turn auto-provisioning on.',
    ],
  },
  {
    id: 'pingone', name: 'PingOne', urlField: 'SCIM BASE URL', tokenField: 'OAuth Access Token (Authentication Method: OAuth 2 Bearer Token)',
    steps: [
      'Integrations → Provisioning → New connection → SCIM Outbound.',
      'Paste the SCIM base URL, choose OAuth 2 Bearer Token and paste the token; unique identifier: userName.',
      'Add a rule with the users and groups to provision, and enable it.',
    ],
  },
  {
    id: 'other', name: 'Another identity provider', urlField: 'SCIM base URL', tokenField: 'Bearer token (Authorization: Bearer …)',
    steps: [
      'Any SCIM 2.0 client (RFC 7644) works: give it the base URL and send the token as "Authorization: Bearer <token>".',
      'Match users by userName; groups by displayName.',
    ],
  },
]
