// The schemas of the console's endpoints (docs/console.md): sessions, members, SCIM tokens and the
// operator's organizations. Built with the helpers of schemas.ts, so that they are validated,
// serialized and documented like every other route of /api/v1.
import { CURSOR, LIMIT, instant, nullableStr, object, params, query, route, str } from './schemas.ts'

type Schema = Record<string, unknown>

const account = object('A console account', {
  id: str('The account id'),
  email: str('Its email'),
  operator: { type: 'boolean', description: 'The vendor\'s operator: admin of every organization' },
})

const role = { type: 'string', enum: ['admin', 'viewer'], description: '`admin` (everything) or `viewer` (read only)' }

const sessionView = object('The signed-in account, its roles and the CSRF token its changes must carry', {
  account,
  roles: { type: 'array', items: object('A role in one organization', { orgId: str('The organization id'), orgName: str('Its name'), role }), description: 'Its organizations' },
  csrfToken: str('Send as the X-CSRF-Token header with every change (POST, PUT, PATCH, DELETE) made with this session'),
  authenticatedAt: instant('When the account last proved its password in this session (sign-in, or a confirmation since): minting a SCIM token needs it within the last 10 minutes'),
  expiresAt: instant('When the session ends at the latest (it ends sooner when idle)'),
})

const member = object('A console member of the organization', {
  id: str('The account id'),
  email: str('Its email'),
  role,
  since: instant('When the role was given'),
  status: { type: 'string', enum: ['invited', 'active'], description: '`invited` until the password is chosen through the invitation\'s link' },
})

const newToken = object('A new SCIM token: shown this once, never again', {
  id: str('The token id'),
  token: str('The token: paste it into the identity provider as the secret token / Authorization header value'),
  lastFour: str('Its last four characters, as the console shows it from now on'),
  createdAt: instant('When it was issued'),
})

const tokenMeta = object('A live SCIM token, never its value', {
  id: str('The token id'),
  prefix: str('Its first characters'),
  lastFour: nullableStr('Its last four characters (null for a token issued before the console existed)'),
  createdAt: instant('When it was issued'),
  firstUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'The identity provider\'s first request with it' },
  firstUsedBy: nullableStr('The identity provider of that request (entra, okta, …)'),
  lastUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'Its latest use (recorded at most once a minute)' },
  lastUsedBy: nullableStr('The identity provider of that request'),
})

const health = {
  firstRequestAt: { type: ['string', 'null'], format: 'date-time', description: 'The identity provider\'s first authenticated SCIM request; null until one arrived' },
  firstRequestBy: nullableStr('The identity provider that made it (entra, okta, …; unknown when not recognised)'),
  lastRequestAt: { type: ['string', 'null'], format: 'date-time', description: 'The latest authenticated SCIM request (recorded at most once a minute per token)' },
  lastRequestBy: nullableStr('The identity provider that made it'),
  errorsLastDay: { type: 'integer', description: 'SCIM requests answered 4xx or 5xx in the last 24 hours (counted up to 1,000)' },
  liveTokens: { type: 'integer', description: 'Live SCIM tokens (two during a rotation)' },
}

const orgSummary = object('An organization with its health', {
  id: str('The organization id'),
  name: str('Its name'),
  createdAt: instant('When it was created'),
  domains: { type: 'array', items: { type: 'string' }, description: 'Its email domains' },
  ...health,
})

const ORG_ID_PARAM = params()
/** The counts of an organization's deletion (store/operations-store.ts OrgDeletionCounts). */
const DELETED_KINDS: Readonly<Record<string, string>> = {
  users: 'Users', groups: 'Groups', memberships: 'Group memberships', domains: 'Email domains', schemas: 'Declared extension schemas',
  scimTokens: 'SCIM tokens (live and revoked)', apiKeys: 'The organization\'s API keys', webhooks: 'Webhook endpoints', invitations: 'Invitations',
  events: 'Events of its feed', logRows: 'Provisioning log rows', consoleMembers: 'Console roles in it',
  consoleAccounts: 'Console accounts that had a role in no other organization (not the operator\'s)',
}
const EMAIL = str('An email address', { maxLength: 254 })
const PASSWORD = str('At least 12 characters, at most 128', { maxLength: 1024 })
const SESSION_ERRORS = [400, 401, 403, 404, 503] as const

const empty = (description: string): Record<number, Schema> => ({ 204: { type: 'null', description } })

export const CONSOLE = {
  signIn: route({
    operationId: 'consoleSignIn', tag: 'console', public: true, summary: 'Sign in to the console',
    description: 'Checks the email and password and opens a session: the answer sets the session cookie (HttpOnly, SameSite=Strict, Path=/; `__Host-roster_session` and Secure over HTTPS, `roster_session` over plain HTTP) and gives the CSRF token. ' +
      'Five failures of one email within 15 minutes lock it out for 15 minutes (429 with Retry-After), whether or not the account exists.',
    body: { type: 'object', properties: { email: EMAIL, password: PASSWORD }, required: ['email', 'password'], additionalProperties: false },
    ok: { 200: sessionView }, errors: [400, 401, 429, 503],
  }),
  getSession: route({
    operationId: 'consoleSession', tag: 'console', session: true, summary: 'The current session',
    description: 'The signed-in account, its roles and the session\'s CSRF token. Needs a console session (401 otherwise).',
    ok: { 200: sessionView }, errors: [...SESSION_ERRORS],
  }),
  confirmSession: route({
    operationId: 'consoleConfirmSession', tag: 'console', session: true, summary: 'Confirm the password (re-authentication)',
    description: 'The signed-in account proves its password again: minting a SCIM token (generate, refresh, rotate) with a session needs this within the last 10 minutes ' +
      '(403 reauthentication_required otherwise). A wrong password is 401 bad_credentials and counts toward the email\'s sign-in lock-out (429 locked_out with Retry-After). Needs the X-CSRF-Token header.',
    body: { type: 'object', properties: { password: PASSWORD }, required: ['password'], additionalProperties: false },
    ok: { 200: sessionView }, errors: [...SESSION_ERRORS, 429],
  }),
  signOut: route({
    operationId: 'consoleSignOut', tag: 'console', session: true, summary: 'Sign out',
    description: 'Ends this session (the cookie is cleared). Needs the X-CSRF-Token header.',
    ok: empty('Signed out'), errors: [...SESSION_ERRORS],
  }),
  signOutEverywhere: route({
    operationId: 'consoleSignOutEverywhere', tag: 'console', session: true, summary: 'Sign out everywhere',
    description: 'Ends every session of the account, on every browser and server, this one included. Needs the X-CSRF-Token header.',
    ok: { 200: object('How many sessions ended', { ended: { type: 'integer', description: 'Sessions ended' } }) }, errors: [...SESSION_ERRORS],
  }),
  requestPasswordReset: route({
    operationId: 'consoleRequestPasswordReset', tag: 'console', public: true, summary: 'Ask for a password reset email',
    description: 'Emails a one-time link (valid one hour) to choose a new password, when an account has this email. The answer is the same whether or not one has, so that it tells nothing.',
    body: { type: 'object', properties: { email: EMAIL }, required: ['email'], additionalProperties: false },
    ok: { 202: object('Accepted', { status: str('Always "accepted"') }) }, errors: [400, 503],
  }),
  redeemLink: route({
    operationId: 'consoleRedeemLink', tag: 'console', public: true, summary: 'Choose a password through a one-time link',
    description: 'Uses the token of a setup link (printed at the first start, or by `roster admin create`), an invitation or a password reset, once: sets the password ' +
      '(the setup link also creates the operator account with `email`) and ends every other session of the account. Then sign in.',
    body: {
      type: 'object', additionalProperties: false, required: ['token', 'password'],
      properties: { token: str('The link\'s token (roster_link_…)', { maxLength: 200 }), password: PASSWORD, email: { ...EMAIL, description: 'The setup link only: the operator\'s email' } },
    },
    ok: { 200: object('The account whose password was set', { account }) }, errors: [400, 409, 503],
  }),
  listMembers: route({
    operationId: 'listOrgMembers', tag: 'console', scopes: ['directory:read', 'org:admin'], summary: 'List the organization\'s console members',
    description: 'The admins and viewers of the organization, by email (at most 1,000).',
    params: ORG_ID_PARAM, ok: { 200: object('The members', { data: { type: 'array', items: member } }) },
  }),
  inviteMember: route({
    operationId: 'inviteOrgMember', tag: 'console', scopes: ['org:admin'], summary: 'Invite an admin or a viewer',
    description: 'Gives the email the role in the organization (creating its account when there is none) and emails a one-time link to choose a password (valid 7 days) when the account has none yet. Written to the audit log.',
    params: ORG_ID_PARAM,
    body: { type: 'object', properties: { email: EMAIL, role }, required: ['email', 'role'], additionalProperties: false },
    ok: { 201: object('The member and whether the email went out', { member, emailSent: { type: 'boolean', description: 'False when the mail server refused it or none is configured' } }) },
  }),
  removeMember: route({
    operationId: 'removeOrgMember', tag: 'console', scopes: ['org:admin'], summary: 'Remove a member',
    description: 'Takes the role away and ends every session of the account at once. Written to the audit log.',
    params: params({ id: str('The account id') }), ok: empty('Removed'),
  }),
}

export const SCIM_TOKENS = {
  getTokens: route({
    operationId: 'getScimTokens', tag: 'scim tokens', scopes: ['directory:read', 'org:admin'], summary: 'The organization\'s live SCIM tokens',
    description: 'Each live token\'s last four characters, when it was issued, and when and by which identity provider it was first and last used; never the token.',
    params: ORG_ID_PARAM,
    ok: { 200: object('The live tokens', { tokens: { type: 'array', items: tokenMeta }, rotating: { type: 'boolean', description: 'A rotation waits for the identity provider\'s first use of the newest token' } }) },
  }),
  refreshToken: route({
    operationId: 'refreshScimToken', tag: 'scim tokens', scopes: ['org:admin'], summary: 'Generate or refresh the SCIM token',
    description: 'Issues a new token and revokes every earlier one in the same transaction: from this answer on, the old token is refused (401). The token is in this answer only. ' +
      'Writes a `token.refreshed` event and an audit entry. With a console session, the password must have been proved within the last 10 minutes ' +
      '(403 reauthentication_required otherwise, written to the audit log; POST /api/v1/console/session/confirm); an API key is not asked. The answer is sent with Cache-Control: no-store.',
    params: ORG_ID_PARAM, ok: { 201: newToken }, errors: [400, 401, 403, 404, 503],
  }),
  rotateToken: route({
    operationId: 'rotateScimToken', tag: 'scim tokens', scopes: ['org:admin'], summary: 'Rotate without downtime',
    description: 'Issues a second token valid beside the live one. The identity provider\'s first request with the new token revokes the older one; so does revoking it by hand. ' +
      'Rotating again before the new token was used replaces it. 409 when there is no token yet. As refreshing, a console session needs its password proved within the last 10 minutes.',
    params: ORG_ID_PARAM, ok: { 201: newToken }, errors: [400, 401, 403, 404, 409, 503],
  }),
  revokeToken: route({
    operationId: 'revokeScimToken', tag: 'scim tokens', scopes: ['org:admin'], summary: 'Revoke one SCIM token',
    description: 'The token stops working at once. Written to the audit log.',
    params: params({ id: str('The token id') }), ok: empty('Revoked'),
  }),
  getStatus: route({
    operationId: 'getScimStatus', tag: 'scim tokens', scopes: ['directory:read', 'org:admin'], summary: 'The identity provider\'s first request, and the health',
    description: 'The tenant URL to give the identity provider, when and from which identity provider the first and the latest authenticated SCIM request arrived, and the failures of the last day.',
    params: ORG_ID_PARAM, ok: { 200: object('The SCIM status', { tenantUrl: str('The SCIM base URL for the identity provider'), ...health }) },
  }),
}

export const OPERATOR = {
  listOrgs: route({
    operationId: 'listOrgs', tag: 'operator', scopes: ['org:admin'], summary: 'List every organization with its health',
    description: 'The operator only (a console operator, or an operator API key): organizations by name, a page at a time, each with its last request and its failures of the last day.',
    querystring: query({ limit: { ...LIMIT, maximum: 200, default: 50, description: 'How many organizations a page holds (1 to 200, 50 when absent)' }, cursor: CURSOR }),
    ok: { 200: object('A page of organizations', { data: { type: 'array', items: orgSummary }, nextCursor: nullableStr('The next page\'s cursor; null on the last page') }) },
    errors: [400, 401, 403, 404, 503],
  }),
  createOrg: route({
    operationId: 'createOrg', tag: 'operator', scopes: ['org:admin'], summary: 'Create an organization',
    description: 'The operator only. Creates the organization with its domains (as `roster org create`), without a SCIM token: its admin generates one in the console.',
    body: {
      type: 'object', additionalProperties: false, required: ['name'],
      properties: { name: str('The organization\'s name (unique, 1 to 200 characters)', { maxLength: 200 }), domains: { type: 'array', items: { type: 'string' }, maxItems: 100, description: 'Its email domains' } },
    },
    ok: { 201: orgSummary }, errors: [400, 401, 403, 404, 409, 503],
  }),
  deleteOrg: route({
    operationId: 'deleteOrg', tag: 'operator', scopes: ['org:admin'], summary: 'Delete an organization and everything it holds',
    description: 'The operator only (as `roster org delete --yes`). In one transaction: its SCIM tokens and API keys (refused from the next request), users, groups, '
      + 'memberships, domains, settings, declared schemas, webhooks, invitations, events, provisioning log, console members and its audit log, which keeps one '
      + '`organization.deleted` entry. It cannot be undone (docs/operations.md).',
    params: ORG_ID_PARAM,
    ok: {
      200: object('What was deleted', {
        orgId: str('The organization id'),
        name: str('Its name'),
        deletedAt: instant('When it was deleted'),
        deleted: object('How many of each were deleted', Object.fromEntries(Object.entries(DELETED_KINDS).map(([k, d]) => [k, { type: 'integer', description: d }]))),
      }),
    },
    errors: [400, 401, 403, 404, 503],
  }),
}
