// The JSON schemas of /api/v1 (docs/api.md): what each route accepts and answers. They do three
// jobs: Fastify validates requests with them (a failure is a 400 invalid_parameter naming the
// parameter, plugin.ts), fast-json-stringify serializes answers with them (a field a response
// schema does not list is not sent, so every field of directory/shape.ts is listed here), and
// @fastify/swagger makes the OpenAPI document from them (GET /api/v1/openapi.json, docs/openapi.json),
// from which the typed client's types are generated (src/client/api-types.ts, `npm run openapi`).
// Free-form objects an identity provider fills (name, enterprise, addresses, customAttributes) are
// `additionalProperties: true` without listed properties: a listed property would be coerced to
// its declared type on the way out.
import type { FastifySchema } from 'fastify'
import { EVENT_TYPES } from '../../events/build.ts'
import { MAX_DELETE_AFTER_DAYS, SCIM_FIELDS } from '../../orgs/settings.ts'
import { IDP_NAMES } from '../../scim/compat/detect.ts'
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_WAIT_SECONDS } from './paging.ts'

type Schema = Record<string, unknown>

export const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra })
export const nullableStr = (description: string, extra: Schema = {}): Schema => ({ type: ['string', 'null'], description, ...extra })
export const instant = (description: string): Schema => ({ type: 'string', format: 'date-time', description })
const freeForm = (description: string): Schema => ({ type: 'object', additionalProperties: true, description })
const ref = (id: string, description?: string): Schema => (description === undefined ? { $ref: `${id}#` } : { description, $ref: `${id}#` })

/** An object whose every listed property is always present. */
export function object(description: string, properties: Record<string, Schema>, opts: { optional?: readonly string[] } = {}): Schema {
  const optional = new Set(opts.optional ?? [])
  return { type: 'object', description, properties, required: Object.keys(properties).filter((k) => !optional.has(k)), additionalProperties: false }
}

const valued = (what: string): Schema => object(`One of the user's ${what}`, {
  value: str(`The ${what.replace(/s$/, '')}`),
  type: nullableStr('work, home, mobile… as the identity provider sent it'),
  primary: { type: 'boolean', description: 'Whether the identity provider marked it primary (at most one is)' },
})

// --- Shared schemas: components of the OpenAPI document, `$ref: 'Name#'` in route schemas. ---

const apiError = {
  $id: 'ApiError',
  type: 'object',
  description: 'An error: a stable code, a message naming the problem (a parameter first: `limit: …`), and for some errors more fields',
  properties: {
    error: str('A stable code: invalid_parameter, unauthorized, insufficient_scope, not_found, cursor_expired, too_large, bad_request, unavailable, internal; ' +
      'for invitations invitation_not_found, invitation_expired, user_not_pending', {
      examples: ['invalid_parameter'],
    }),
    message: str('What is wrong, for a person', { examples: ['limit: must be an integer from 1 to 1000 (got 0)'] }),
    resyncCursor: str('410 cursor_expired: the feed cursor to follow from once the consumer has resynchronised from the directory API'),
    requestId: str('500 internal: the request id to quote in a report'),
  },
  required: ['error', 'message'],
  additionalProperties: true,
}

const userProperties: Record<string, Schema> = {
  id: str('Roster\'s id of the user'),
  externalId: nullableStr('The identity provider\'s id of the user'),
  userName: str('The unique sign-in name (unique per organization, case-insensitively)'),
  email: nullableStr('The primary email, else the first one'),
  emails: { type: 'array', items: valued('emails'), description: 'Every email, in the order the identity provider sent them' },
  name: { ...freeForm('SCIM name: givenName, familyName, formatted, middleName, honorificPrefix, honorificSuffix'), type: ['object', 'null'] },
  displayName: nullableStr('The name to show'),
  nickName: nullableStr('A casual name'),
  title: nullableStr('Job title'),
  userType: nullableStr('Employee, Contractor… as the identity provider sent it'),
  preferredLanguage: nullableStr('e.g. en-US'),
  locale: nullableStr('e.g. en-US'),
  timezone: nullableStr('An IANA time zone, e.g. America/New_York'),
  phoneNumbers: { type: 'array', items: valued('phone numbers'), description: 'Every phone number' },
  addresses: { type: 'array', items: freeForm('A SCIM address: formatted, streetAddress, locality, region, postalCode, country, type, primary'), description: 'Every address' },
  active: { type: 'boolean', description: 'false once the identity provider deactivated the user' },
  state: {
    type: 'string', enum: ['pending', 'active', 'suspended', 'deleted'],
    description: '`pending` (invited, not yet accepted), `active`, `suspended` (active is false), or `deleted` (kept after the identity provider deleted it, under the policy deprovision: suspend; docs/policies.md)',
  },
  enterprise: {
    ...freeForm('The enterprise extension\'s attributes without their URN (employeeNumber, costCenter, organization, division, department), `manager` as `{ id, displayName }`; null when none was sent'),
    type: ['object', 'null'],
  },
  managedBy: str('Who manages the user: `scim` (an identity provider; its SCIM-owned fields are read-only here) or `app` (the application created it)'),
  identityProvider: nullableStr('The identity provider that created the user (entra, okta, …), when recognised'),
  extensions: freeForm('The values of the extension schemas the organization declares (docs/custom-attributes.md), each under its URN as SCIM sends it; the enterprise extension is `enterprise`'),
  fields: freeForm('The organization\'s attribute mapping applied (settings `attributeMapping`): each mapped SCIM attribute\'s value under the application\'s field name, null when the user has none'),
  customAttributes: freeForm('What the identity provider sent that no schema declares (unknown attributes, unknown extensions by URN), kept rather than dropped'),
  metadata: freeForm("The application's own attributes (a role in the product, settings): set through this API, never read or written by SCIM"),
  createdAt: instant('When the user was created'),
  updatedAt: instant('When the user last changed'),
  version: { type: 'integer', description: 'Grows by one at each change; the ETag is W/"version"' },
}

const apiUser = { $id: 'ApiUser', ...object('A user in the shape applications want (not SCIM\'s wire form)', userProperties) }

const groupProperties: Record<string, Schema> = {
  id: str('Roster\'s id of the group'),
  externalId: nullableStr('The identity provider\'s id of the group'),
  displayName: str('The group\'s name (unique per organization, case-insensitively)'),
  memberCount: { type: 'integer', description: 'How many members the group has' },
  extensions: freeForm('The values of the extension schemas the organization declares for groups (docs/custom-attributes.md), each under its URN'),
  managedBy: str('Who manages the group (`scim`: an identity provider)'),
  identityProvider: nullableStr('The identity provider that created the group, when recognised'),
  createdAt: instant('When the group was created'),
  updatedAt: instant('When the group (not its members) last changed'),
  version: { type: 'integer', description: 'Grows by one at each change, membership changes included; the ETag is W/"version"' },
}

const apiGroup = { $id: 'ApiGroup', ...object('A group (its members are read a page at a time from its members list)', groupProperties) }

const apiMember = {
  $id: 'ApiMember',
  ...object('A member of a group', {
    id: str('The member\'s id: a user id or a group id'),
    type: { type: 'string', enum: ['user', 'group'], description: 'What the member is' },
    display: nullableStr('The member\'s display name'),
  }),
}

const page = (id: string, item: string, what: string): Schema & { $id: string } => ({
  $id: id,
  ...object(`A page of ${what}`, {
    data: { type: 'array', items: ref(item), description: `The page's ${what}, in id order` },
    nextCursor: nullableStr('Pass as `cursor` for the next page; null on the last page'),
  }),
})

const eventType = { $id: 'EventType', type: 'string', enum: [...EVENT_TYPES], description: 'An event type (docs/events.md)' }

const event = {
  $id: 'Event',
  ...object('An event, exactly as webhooks deliver it (Standard Webhooks payload; docs/events.md)', {
    id: str('The event id (the `webhook-id` of its deliveries)'),
    type: ref('EventType'),
    timestamp: instant('When the change happened'),
    data: {
      type: 'object',
      description: 'The resource in the directory API\'s shape (ApiUser, ApiGroup) with `orgId`; `changes` ({ attributes, before, after }) on updates, ' +
        '`member` ({ id, type }) on membership events; a token.refreshed event carries { id, prefix, createdAt, version (always 1: a token is never changed), orgId }; ' +
        'an organization.updated event carries the organization\'s settings (OrgSettings) and `changes`, the names of what changed; ' +
        'a webhook.endpoint_disabled event carries { id, url (query values redacted), reason, failingSince, disabledAt, orgId } of an endpoint the delivery loop disabled',
      properties: { orgId: str('The organization of the event') },
      required: ['orgId'],
      additionalProperties: true,
    },
  }),
}

const eventPage = {
  $id: 'EventPage',
  ...object('A page of the event feed', {
    data: { type: 'array', items: ref('Event'), description: 'Events in feed order (oldest first)' },
    nextCursor: str('Pass as `after` to continue; every answer has one, also when it holds no event'),
  }),
}

const endpointProperties: Record<string, Schema> = {
  id: str('The endpoint id'),
  url: str('Where events are POSTed', { format: 'uri' }),
  description: str('A note for people'),
  eventTypes: { type: 'array', items: ref('EventType'), description: 'The event types sent; empty: every type' },
  enabled: { type: 'boolean', description: 'false once disabled (by a 410, by five days of failures, or by hand)' },
  failingSince: { ...instant('When the current run of failed deliveries began; null while deliveries succeed'), type: ['string', 'null'] },
  disabledReason: nullableStr('Why the endpoint was disabled, or null'),
  createdAt: instant('When the endpoint was added'),
  updatedAt: instant('When the endpoint last changed'),
}

const webhookEndpoint = { $id: 'WebhookEndpoint', ...object('A webhook endpoint (its secrets are never shown again after it was added)', endpointProperties) }

const webhookEndpointCreated = {
  $id: 'WebhookEndpointCreated',
  ...object('A webhook endpoint just added, with its signing secret (shown this once)', {
    ...endpointProperties,
    secret: str('The Standard Webhooks signing secret (whsec_…): store it now, it is not shown again'),
  }),
}

const webhookEndpointList = {
  $id: 'WebhookEndpointList',
  ...object('An organization\'s webhook endpoints', {
    data: { type: 'array', items: ref('WebhookEndpoint') },
    nextCursor: { type: 'null', description: 'Always null: every endpoint is on the one page' },
  }),
}

const webhookAttempt = {
  $id: 'WebhookAttempt',
  ...object('One attempt at delivering an event to an endpoint', {
    id: str('The attempt id'),
    endpointId: str('The endpoint'),
    eventId: str('The event delivered'),
    eventType: str('Its type'),
    at: instant('When the attempt ended'),
    status: { type: ['integer', 'null'], description: 'The receiver\'s HTTP status; null when no answer came (timeout, refused, blocked address)' },
    durationMs: { type: 'number', description: 'How long the attempt took' },
    outcome: { type: 'string', enum: ['delivered', 'retrying', 'failed', 'disabled'], description: 'delivered; retrying (another attempt follows); failed (retries exhausted); disabled (this attempt disabled the endpoint)' },
    excerpt: nullableStr('The start of the receiver\'s answer'),
    error: nullableStr('Why no answer came'),
  }),
}

const webhookAttemptPage = {
  $id: 'WebhookAttemptPage',
  ...object('A page of an endpoint\'s attempts, newest first', {
    data: { type: 'array', items: ref('WebhookAttempt') },
    nextCursor: nullableStr('Pass as `cursor` for the next (older) page; null on the last page'),
  }),
}

const logItem = {
  $id: 'LogItem',
  ...object('One SCIM request of the organization, as the provisioning log recorded it (docs/provisioning-log.md)', {
    id: str('The entry id (a UUIDv7: newest first is id descending)'),
    time: instant('When the request arrived'),
    identityProvider: str('The identity provider that sent it (entra, okta, …; unknown when not recognised)'),
    method: str('The HTTP method'),
    path: str('Path and query string, secrets redacted'),
    resourceType: { type: ['string', 'null'], enum: ['User', 'Group', null], description: 'The kind of resource the request was about' },
    resourceId: nullableStr('The resource the request was about'),
    status: { type: 'integer', description: 'The HTTP status of the answer' },
    scimType: nullableStr('The SCIM error type of a 4xx (invalidFilter, uniqueness, …)'),
    detail: nullableStr('The error detail of a failure'),
    durationMs: { type: 'number', description: 'How long the request took' },
    requestId: str('The request id (in the server\'s log lines)'),
    changes: { ...freeForm('The redacted before/after of what changed, or null (passwords never)'), type: ['object', 'null'] },
    notes: { type: 'array', items: { type: 'string' }, description: 'The lenient readings applied to the request (docs/compatibility.md)' },
  }),
}

const logPage = {
  $id: 'LogPage',
  ...object('A page of the provisioning log, newest first', {
    items: { type: 'array', items: ref('LogItem') },
    nextCursor: nullableStr('Pass as `cursor` for the next (older) page; null on the last page'),
  }),
}

// An organization's settings (provisioning/org-settings.ts: orgSettingsView), as read and as changed.
const settingProperties: Record<string, Schema> = {
  sendInvitations: { type: 'boolean', description: 'A user an identity provider creates starts `pending` and is sent an invitation email' },
  outsideDomains: {
    type: 'string', enum: ['refuse', 'allow'],
    description: '`refuse`: with domains listed, a SCIM write whose userName (an email address), primary email or work email is outside them is a 400 invalidValue; `allow`: no check',
  },
  subdomains: { type: 'boolean', description: 'Subdomains of a listed domain count as inside it (eu.acme.com under acme.com)' },
  deprovision: { type: 'string', enum: ['delete', 'suspend'], description: 'What a SCIM DELETE does: `delete` at once, or `suspend` and delete after deleteAfterDays' },
  deleteAfterDays: { type: 'integer', minimum: 0, maximum: MAX_DELETE_AFTER_DAYS, description: `Days a user deleted under \`suspend\` is kept (0 to ${MAX_DELETE_AFTER_DAYS})` },
  adoptExisting: { type: 'boolean', description: 'A SCIM create whose userName is an application-created user\'s takes that user over' },
  scimOwnedFields: { type: 'array', items: { type: 'string', enum: [...SCIM_FIELDS] }, description: 'The user fields an identity provider owns on SCIM-managed users' },
  attributeMapping: {
    type: 'object', additionalProperties: { type: 'string' }, maxProperties: 100,
    description: 'SCIM attribute paths (`title`, `name.givenName`, `urn:…:User:costCenter`) → the application\'s field names, shown in each user\'s `fields` in this API and in the events; a change replaces the whole mapping',
    examples: [{ title: 'jobTitle', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'department' }],
  },
  strictAttributes: { type: 'boolean', description: 'A SCIM write carrying attributes that no schema of the organization declares is a 400 invalidSyntax naming them; off (the default), they are kept under `customAttributes`' },
}

const domainState = {
  $id: 'DomainState',
  ...object('One of the organization\'s domains and its DNS verification', {
    domain: str('The domain, lower case, internationalized names in their punycode (xn--) form'),
    state: {
      type: 'string', enum: ['unverified', 'pending', 'verified', 'failed', 'superseded'],
      description: '`unverified` (listed, never checked), `pending` (the TXT record was asked for), `verified`, `failed` (the last check did not find it), `superseded` (another organization verified it: it no longer counts here)',
    },
    checkedAt: { ...instant('When the TXT record was last looked up'), type: ['string', 'null'] },
    verifiedAt: { ...instant('When the domain was verified'), type: ['string', 'null'] },
    detail: nullableStr('Why the last check failed, or that another organization verified the domain'),
    record: object('The DNS TXT record to publish (while pending or failed)', {
      name: str('The record\'s name', { examples: ['_roster-verification.acme.com'] }),
      value: str('The record\'s value', { examples: ['roster-verification=3q2-7wXl0bS7lFq1d8n7Zg'] }),
    }),
  }, { optional: ['record'] }),
}

const orgSettings = {
  $id: 'OrgSettings',
  ...object('An organization\'s settings and email domains (docs/api.md)', {
    orgId: str('The organization\'s id'),
    name: str('The organization\'s name'),
    domains: { type: 'array', items: { type: 'string' }, description: 'Every domain the organization lists, sorted' },
    domainStates: { type: 'array', items: ref('DomainState'), description: 'Each domain with its verification state, in the same order' },
    ...settingProperties,
    version: { type: 'integer', description: 'Moves on with every change of the settings, the domains or the declared schemas; an organization.updated event carries the version after its change' },
  }),
}

const auditEntry = {
  $id: 'AuditEntry',
  ...object('A change of the organization\'s settings or domains: who, when, what', {
    id: str('The entry id (newest first is id descending)'),
    at: instant('When'),
    actor: str('Who: `cli`, `api-key:<key id>`, or `system` (another organization\'s verification)'),
    action: str('organization.settings_changed, organization.domain_verification or organization.domain_superseded'),
    details: freeForm('What: `changes`, `before` and `after` of what changed, `domainsAdded`, `domainsRemoved`; for a domain, `domain` and its state before and after'),
  }),
}

const auditPage = {
  $id: 'AuditPage',
  ...object('A page of the organization\'s audit log, newest first', {
    data: { type: 'array', items: ref('AuditEntry') },
    nextCursor: nullableStr('Pass as `cursor` for the next (older) page; null on the last page'),
  }),
}

const apiInvitation = {
  $id: 'ApiInvitation',
  ...object('A user\'s invitation (docs/api.md, "Invitations"): never its token', {
    id: str('The invitation id'),
    userId: str('The invited user'),
    status: {
      type: 'string', enum: ['queued', 'sent', 'accepted', 'expired', 'revoked', 'failed'],
      description: '`queued` (the email is waiting to go, or to be retried), `sent`, `accepted`, `expired`, `revoked` (by hand, by a newer invitation, or because the user stopped being pending before it was sent), `failed` (the mail server refused the address, or retries ran out)',
    },
    email: nullableStr('The address of the last attempt'),
    createdAt: instant('When the invitation was queued'),
    sentAt: { ...instant('When the email went out'), type: ['string', 'null'] },
    expiresAt: { ...instant('When its link stops working'), type: ['string', 'null'] },
    endedAt: { ...instant('When it was accepted, expired, revoked or failed'), type: ['string', 'null'] },
    attempts: { type: 'integer', description: 'Sends tried' },
    nextAttemptAt: { ...instant('While queued: when the next send is due'), type: ['string', 'null'] },
    lastError: nullableStr('Why the last send failed (the mail server\'s answer)'),
  }),
}

// An organization's declared extension schema (provisioning/org-schemas.ts: SchemaView).
const declaredSchema = {
  $id: 'DeclaredSchema',
  ...object('An extension schema the organization declares (docs/custom-attributes.md)', {
    id: str('The schema\'s URN', { examples: ['urn:ietf:params:scim:schemas:extension:acme:2.0:User'] }),
    resourceType: { type: 'string', enum: ['User', 'Group'], description: 'The resource type it extends' },
    definition: freeForm('The declaration with every default written out: RFC 7643 §7\'s schema representation (id, name, description, attributes) plus `resourceType`, `required`, and per attribute `maxLength`, `pattern` and `allowedCharacters`'),
    createdAt: instant('When it was first declared'),
    updatedAt: instant('When it was last declared'),
  }),
}
const declaredSchemaList = { $id: 'DeclaredSchemaList', ...object('The organization\'s declared schemas, oldest first', { data: { type: 'array', items: ref('DeclaredSchema') } }) }

/** Every shared schema, in the order the document lists them (plugin.ts adds them with addSchema). */
export const SHARED_SCHEMAS: readonly (Schema & { $id: string })[] = [
  apiError, apiUser, apiGroup, apiMember,
  page('UserPage', 'ApiUser', 'users'), page('GroupPage', 'ApiGroup', 'groups'), page('MemberPage', 'ApiMember', 'members'),
  eventType, event, eventPage,
  webhookEndpoint, webhookEndpointCreated, webhookEndpointList, webhookAttempt, webhookAttemptPage,
  logItem, logPage,
  domainState, orgSettings, auditEntry, auditPage,
  apiInvitation, declaredSchema, declaredSchemaList,
]

// --- Route schema parts ---

export const TAGS = [
  { name: 'directory', description: 'An organization\'s users and groups (scope directory:read)' },
  { name: 'events', description: 'The event feed (scope events:read; docs/events.md)' },
  { name: 'webhooks', description: 'Webhook endpoints and their deliveries (reading: scope webhooks:read or webhooks:manage; changing: webhooks:manage; docs/events.md)' },
  { name: 'provisioning log', description: 'The SCIM requests of an organization (scope log:read; docs/provisioning-log.md)' },
  { name: 'organizations', description: 'An organization\'s settings, email domains and audit log (scope org:admin, or the scope each endpoint names)' },
  { name: 'invitations', description: 'Invitation emails of pending users: accept, read, resend, revoke (scope directory:write; reading: directory:read)' },
  { name: 'console', description: 'The admin console\'s accounts and sessions (docs/console.md): sign in with a cookie session, sign out, reset a password, invite admins and viewers' },
  { name: 'scim tokens', description: 'An organization\'s SCIM tokens and the identity provider\'s first and last requests (scope org:admin; reading: directory:read)' },
  { name: 'operator', description: 'Every organization and its health (the operator: a console operator or an operator API key with org:admin)' },
  { name: 'reference', description: 'This document (no API key needed)' },
] as const

type Tag = (typeof TAGS)[number]['name']

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'invalid_parameter: a parameter or the body is not valid; the message names it',
  401: 'unauthorized: no API key, or one that is not valid, has expired or was revoked (WWW-Authenticate: Bearer), and no live console session; ' +
    'bad_credentials: the console sign-in\'s email or password is wrong',
  403: 'insufficient_scope: the key does not hold the scope this endpoint needs; insufficient_role: the console account\'s role does not allow it (a viewer); ' +
    'csrf_refused: a console session\'s change without its X-CSRF-Token; ' +
    'reauthentication_required: minting a SCIM token with a console session whose password was last proved too long ago (confirm it: POST /api/v1/console/session/confirm)',
  404: 'not_found: no such organization (also for another organization\'s, to a key of one organization), resource or endpoint; ' +
    'invitation_not_found: no usable invitation has the token (unknown, used, revoked)',
  409: 'a conflict with the current state; `error` says which: scim_owned_fields (the identity provider owns a field sent; `fields` names them), user_name_taken, ' +
    'domain_claimed (another organization holds the domain), user_not_pending (the user is not pending: it accepted, was created active, or is deactivated), ' +
    'user_suspended (accepting an invitation of a user the identity provider deactivated or deleted)',
  412: 'version_mismatch: If-Match does not name the resource\'s current version',
  410: 'cursor_expired: the cursor is older than the event retention; resynchronise, then follow from resyncCursor; ' +
    'invitation_expired: the invitation\'s link has expired',
  429: 'rate_limited: the API key, its organization or the console account is past its rate limit (RateLimit and RateLimit-Policy name the bucket); ' +
    'locked_out: too many failed console sign-ins for this email; retry after Retry-After seconds; ' +
    'too_many_failures: too many unknown API keys or SCIM tokens from this address within a minute; retry after Retry-After seconds',
  503: 'unavailable: the database is temporarily unavailable, or the request was not answered by its deadline; retry after Retry-After seconds',
}

const RATE_LIMITED_HEADERS: Schema = {
  'retry-after': { type: 'string', description: 'Seconds to wait before retrying' },
  ratelimit: { type: 'string', description: 'The bucket and when it refills, as draft-ietf-httpapi-ratelimit-headers spells it: "per-key";r=0;t=1' },
  'ratelimit-policy': { type: 'string', description: 'The bucket\'s quota over its window of seconds: "per-key";q=1000;w=2 ("per-key", "per-session" or "per-organization")' },
}

function errors(codes: readonly number[]): Record<string, Schema> {
  const out: Record<string, Schema> = {}
  for (const code of codes) {
    out[String(code)] = {
      ...ref('ApiError', ERROR_DESCRIPTIONS[code] ?? 'An error'),
      ...(code === 401 ? { headers: { 'www-authenticate': { type: 'string', description: 'Bearer realm="roster-api"' } } } : {}),
      ...(code === 503 ? { headers: { 'retry-after': { type: 'string', description: 'Seconds to wait before retrying' } } } : {}),
      ...(code === 429 ? { headers: RATE_LIMITED_HEADERS } : {}),
    }
  }
  // Any other client error (406 not_acceptable, 413 too_large, 415 …) and 500 internal have the same shape.
  out['4xx'] = ref('ApiError', 'Another client error (406 not_acceptable: the Accept header admits no JSON; 413 too_large: the body is too large; 415: the body is not JSON)')
  out['5xx'] = ref('ApiError', 'internal: an unexpected error (the message and requestId identify it in the server\'s log)')
  return out
}

const ORG_PARAM = str('The organization: its id or its name', { examples: ['Acme Corp'] })

export function params(extra: Record<string, Schema> = {}): Schema {
  return { type: 'object', properties: { org: ORG_PARAM, ...extra }, required: ['org', ...Object.keys(extra)] }
}

const ID = (what: string) => params({ id: str(`The ${what}'s id`) })

export const LIMIT = {
  type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT,
  description: `How many items a page holds at most (1 to ${MAX_LIMIT}, ${DEFAULT_LIMIT} when absent)`,
}
export const CURSOR = str('The `nextCursor` of the previous page (opaque); absent for the first page')

export function query(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties }
}

const IF_NONE_MATCH = {
  type: 'object',
  properties: { 'if-none-match': str('An ETag the client has (W/"3"): a 304 without a body when the resource is still at that version') },
}

const IF_MATCH = {
  type: 'object',
  properties: { 'if-match': str('The version the change was made against (W/"3"): a 412 when the resource has moved on') },
}

/** The body of a user write: the directory shape's writable fields and the application's metadata. */
const USER_WRITE = (required: readonly string[]): Schema => ({
  type: 'object',
  description: 'The fields to set, in the directory API\'s shape',
  properties: {
    userName: str('The unique sign-in name'),
    externalId: nullableStr('The application\'s own id for the user'),
    email: nullableStr('The primary (work) email; replaces emails'),
    emails: { type: ['array', 'null'], items: freeForm('{ value, type, primary }'), description: 'Every email' },
    name: { ...freeForm('givenName, familyName, formatted, …'), type: ['object', 'null'] },
    displayName: nullableStr('The name to show'),
    nickName: nullableStr('A casual name'),
    title: nullableStr('Job title'),
    userType: nullableStr('Employee, Contractor…'),
    preferredLanguage: nullableStr('e.g. en-US'),
    locale: nullableStr('e.g. en-US'),
    timezone: nullableStr('An IANA time zone'),
    active: { type: 'boolean', description: 'false to suspend the user' },
    phoneNumbers: { type: ['array', 'null'], items: freeForm('{ value, type, primary }'), description: 'Every phone number' },
    addresses: { type: ['array', 'null'], items: freeForm('A SCIM address'), description: 'Every address' },
    enterprise: { ...freeForm('employeeNumber, costCenter, organization, division, department, manager: { id }'), type: ['object', 'null'] },
    metadata: { ...freeForm('The application\'s own attributes, replaced whole; null clears them'), type: ['object', 'null'] },
  },
  required: [...required],
  // Checked by the use case, which names an unknown field (Fastify's validator would drop it silently).
  additionalProperties: true,
})

const ETAG = { etag: { type: 'string', description: 'The resource\'s version as a weak ETag: W/"version"' } }

/** The scopes of provisioning/api-keys.ts's SCOPES that an endpoint may need. */
type Scope = 'directory:read' | 'events:read' | 'webhooks:read' | 'webhooks:manage' | 'log:read' | 'directory:write' | 'org:admin'

const SCOPE_OF: Readonly<Record<Exclude<Tag, 'reference' | 'organizations' | 'console' | 'scim tokens' | 'operator'>, Scope>> = {
  directory: 'directory:read', events: 'events:read', webhooks: 'webhooks:manage', 'provisioning log': 'log:read',
  invitations: 'directory:write',
}

interface RouteDoc {
  readonly operationId: string
  readonly tag: Tag
  readonly summary: string
  readonly description: string
  readonly params?: Schema
  readonly querystring?: Schema
  readonly headers?: Schema
  readonly body?: Schema
  /** Success answers by status. */
  readonly ok: Record<number, Schema>
  /** Error statuses beyond 400, 401, 403, 404 and 503 (or fewer, for the public routes). */
  readonly errors?: readonly number[]
  readonly public?: boolean
  /** Only a console session opens it (no API key). */
  readonly session?: boolean
  /** The scopes that open the endpoint, any one of them (the tag's scope when absent). */
  readonly scopes?: readonly Scope[]
}

/** A route's schema from its documentation. */
export function route(d: RouteDoc): FastifySchema {
  const response: Record<string, Schema> = {}
  for (const [code, s] of Object.entries(d.ok)) response[code] = s
  const codes = d.errors ?? [400, 401, 403, 404, 503]
  // Every request with a key or a session may meet a rate limit (http/rate-limit.ts).
  Object.assign(response, errors(d.public || codes.includes(429) ? codes : [...codes, 429]))
  const scopes = d.scopes ?? (d.tag === 'reference' || d.tag === 'organizations' || d.tag === 'console' || d.tag === 'scim tokens' || d.tag === 'operator' ? [] : [SCOPE_OF[d.tag]])
  return {
    operationId: d.operationId,
    tags: [d.tag],
    summary: d.summary,
    description: scopes.length > 0 ? `${d.description}\n\nScope: ${scopes.map((s) => `\`${s}\``).join(' or ')}.` : d.description,
    // OpenAPI 3.1 lets a requirement of a non-OAuth scheme name roles: the key's scope (each
    // requirement is an alternative).
    // A console session (cookie) is the other way in: its role gives it the scopes (docs/console.md).
    security: d.public ? [] : d.session ? [{ consoleSession: [] }] : [...scopes.map((s) => ({ apiKey: [s] })), ...(scopes.length > 0 ? [{ consoleSession: [] }] : [])],
    ...(d.params ? { params: d.params } : {}),
    ...(d.querystring ? { querystring: d.querystring } : {}),
    ...(d.headers ? { headers: d.headers } : {}),
    ...(d.body ? { body: d.body } : {}),
    response,
  } as FastifySchema
}

const notModified = { 304: { type: 'null', description: 'Not modified: If-None-Match names the current version' } }

const USER_PAGE_QUERY = query({
  filter: str('A SCIM filter (RFC 7644 §3.4.2.2) on the users\' SCIM attributes', { examples: ['userName eq "ada@example.com"'] }),
  state: {
    type: 'string', enum: ['pending', 'active', 'suspended', 'deleted'],
    description: 'Only users in this state: pending (invited, not yet accepted), active, suspended (deactivated), deleted (deleted by the identity provider under ' +
      '`deprovision: suspend` and kept for `deleteAfterDays`; their `updatedSince` is when they were deleted, and a filter is refused). Without it, every user but the deleted ones',
  },
  updatedSince: str('Only those changed at or after this ISO 8601 time', { examples: ['2026-01-31T12:00:00Z'] }),
  limit: LIMIT,
  cursor: CURSOR,
})

const PAGE_QUERY = (filterOf: string) => query({
  filter: str(`A SCIM filter (RFC 7644 §3.4.2.2) on the ${filterOf}' SCIM attributes`, { examples: ['userName eq "ada@example.com"'] }),
  updatedSince: str('Only those changed at or after this ISO 8601 time', { examples: ['2026-01-31T12:00:00Z'] }),
  limit: LIMIT,
  cursor: CURSOR,
})

// --- The routes ---

export const DIRECTORY = {
  listUsers: route({
    operationId: 'listUsers', tag: 'directory', summary: 'List users',
    description: 'The organization\'s users a page at a time, in id order. The cursor stays exact while other requests write: a user that exists throughout a walk is seen exactly once.',
    params: params(), querystring: USER_PAGE_QUERY, ok: { 200: ref('UserPage', 'A page of users') },
  }),
  getUser: route({
    operationId: 'getUser', tag: 'directory', summary: 'Get a user',
    description: 'One user by id, with its version as a weak ETag.',
    params: ID('user'), headers: IF_NONE_MATCH, ok: { 200: { ...ref('ApiUser', 'The user'), headers: ETAG }, ...notModified },
  }),
  createUser: route({
    operationId: 'createUser', tag: 'directory', scopes: ['directory:write'], summary: 'Create a user the application manages',
    description: 'A user the application itself creates (`managedBy: "app"`, `state: "active"`, no invitation). An identity provider that later provisions the same userName does not take it over unless the organization allows adoption (docs/policies.md).',
    params: params(), body: USER_WRITE(['userName']), ok: { 201: { ...ref('ApiUser', 'The user'), headers: ETAG } },
    errors: [400, 401, 403, 404, 409, 503],
  }),
  updateUser: route({
    operationId: 'updateUser', tag: 'directory', scopes: ['directory:write'], summary: 'Change a user\'s fields or metadata',
    description: 'The fields sent replace the stored ones (null removes one; metadata is replaced whole). On a SCIM-managed user the organization\'s SCIM-owned fields (by default userName, externalId, name, displayName, emails, phoneNumbers, title, active, addresses, enterprise) are the identity provider\'s: sending one is a 409 `scim_owned_fields` naming each, and nothing changes. `metadata` is the application\'s on every user; SCIM never reads or writes it.',
    params: ID('user'), headers: IF_MATCH, body: USER_WRITE([]), ok: { 200: { ...ref('ApiUser', 'The user after the change'), headers: ETAG } },
    errors: [400, 401, 403, 404, 409, 412, 503],
  }),
  getUserByExternalId: route({
    operationId: 'getUserByExternalId', tag: 'directory', summary: 'Get a user by externalId',
    description: 'One user by the identity provider\'s id (exact match), with its version as a weak ETag.',
    params: params({ value: str('The externalId (URL-encoded)') }), headers: IF_NONE_MATCH,
    ok: { 200: { ...ref('ApiUser', 'The user'), headers: ETAG }, ...notModified },
  }),
  getUserByUserName: route({
    operationId: 'getUserByUserName', tag: 'directory', summary: 'Get a user by userName',
    description: 'One user by userName (compared case-insensitively, as SCIM does), with its version as a weak ETag.',
    params: params({ value: str('The userName (URL-encoded)') }), headers: IF_NONE_MATCH,
    ok: { 200: { ...ref('ApiUser', 'The user'), headers: ETAG }, ...notModified },
  }),
  listUserGroups: route({
    operationId: 'listUserGroups', tag: 'directory', summary: 'List a user\'s groups',
    description: 'The groups the user is a direct member of, a page at a time, in id order.',
    params: ID('user'), querystring: query({ limit: LIMIT, cursor: CURSOR }), ok: { 200: ref('GroupPage', 'A page of the user\'s groups') },
  }),
  listGroups: route({
    operationId: 'listGroups', tag: 'directory', summary: 'List groups',
    description: 'The organization\'s groups a page at a time, in id order, each with its memberCount.',
    params: params(), querystring: PAGE_QUERY('groups'), ok: { 200: ref('GroupPage', 'A page of groups') },
  }),
  getGroup: route({
    operationId: 'getGroup', tag: 'directory', summary: 'Get a group',
    description: 'One group by id, with its memberCount and its version as a weak ETag.',
    params: ID('group'), headers: IF_NONE_MATCH, ok: { 200: { ...ref('ApiGroup', 'The group'), headers: ETAG }, ...notModified },
  }),
  listGroupMembers: route({
    operationId: 'listGroupMembers', tag: 'directory', summary: 'List a group\'s members',
    description: 'The group\'s direct members (users and groups) a page at a time, in id order.',
    params: ID('group'), querystring: query({ limit: LIMIT, cursor: CURSOR }), ok: { 200: ref('MemberPage', 'A page of members') },
  }),
}

export const EVENTS = {
  listEvents: route({
    operationId: 'listEvents', tag: 'events', summary: 'Read the event feed',
    description: 'The organization\'s events after a cursor, in feed order. A consumer that stores each answer\'s nextCursor and asks again from it sees every event exactly once. ' +
      'With `wait`, an answer without events waits up to that many seconds for one (long-poll). A cursor older than the event retention is a 410.',
    params: params(),
    querystring: query({
      after: str('The `nextCursor` of the previous answer; absent for the oldest event kept'),
      limit: LIMIT,
      types: str(`Only these event types, comma-separated (${EVENT_TYPES.join(', ')}); the cursor still moves past the others`, { examples: ['user.created,user.deleted'] }),
      wait: { type: 'integer', minimum: 0, maximum: MAX_WAIT_SECONDS, description: `Seconds to wait for an event when there is none yet (0 to ${MAX_WAIT_SECONDS}; 0 when absent)` },
    }),
    ok: { 200: ref('EventPage', 'Events and the cursor to continue from') },
    errors: [400, 401, 403, 404, 410, 503],
  }),
}

const endpointParams = ID('webhook endpoint')

const webhookTypes = {
  type: ['array', 'null'], items: ref('EventType'),
  description: 'The event types to send; empty, null or absent: every type',
}

const WEBHOOK_READ: readonly Scope[] = ['webhooks:read', 'webhooks:manage']

export const WEBHOOKS = {
  listWebhooks: route({
    operationId: 'listWebhooks', tag: 'webhooks', summary: 'List webhook endpoints',
    description: 'Every webhook endpoint of the organization (never their secrets; without webhooks:manage, the values of the URL\'s query string are hidden too).',
    scopes: WEBHOOK_READ, params: params(), ok: { 200: ref('WebhookEndpointList', 'The endpoints') },
  }),
  createWebhook: route({
    operationId: 'createWebhook', tag: 'webhooks', summary: 'Add a webhook endpoint',
    description: 'Adds an endpoint for the events from now on. The answer holds its signing secret, this once. The URL must be http(s) and, unless the operator allows it, not a loopback, link-local or private address.',
    params: params(),
    body: {
      type: 'object',
      properties: {
        url: str('Where to POST events (http or https)', { examples: ['https://app.example.com/hooks/roster'] }),
        eventTypes: webhookTypes,
        description: { type: ['string', 'null'], maxLength: 500, description: 'A note for people (at most 500 characters)' },
      },
      required: ['url'],
    },
    ok: { 201: ref('WebhookEndpointCreated', 'The endpoint, with its secret') },
  }),
  getWebhook: route({
    operationId: 'getWebhook', tag: 'webhooks', summary: 'Get a webhook endpoint',
    description: 'One endpoint (never its secrets; without webhooks:manage, the values of the URL\'s query string are hidden too).', scopes: WEBHOOK_READ, params: endpointParams, ok: { 200: ref('WebhookEndpoint', 'The endpoint') },
  }),
  updateWebhook: route({
    operationId: 'updateWebhook', tag: 'webhooks', summary: 'Change a webhook endpoint',
    description: 'Changes what the body names. Enabling a disabled endpoint clears its failures; deliveries kept while it was disabled go out then.',
    params: endpointParams,
    body: {
      type: 'object',
      properties: {
        url: str('Where to POST events (http or https)'),
        eventTypes: webhookTypes,
        description: { type: ['string', 'null'], maxLength: 500, description: 'A note for people (at most 500 characters)' },
        enabled: { type: 'boolean', description: 'false stops deliveries (they are kept); true starts them again' },
      },
    },
    ok: { 200: ref('WebhookEndpoint', 'The endpoint as changed') },
  }),
  deleteWebhook: route({
    operationId: 'deleteWebhook', tag: 'webhooks', summary: 'Remove a webhook endpoint',
    description: 'Removes the endpoint with its pending deliveries and recorded attempts.',
    params: endpointParams, ok: { 204: { type: 'null', description: 'Removed' } },
  }),
  rotateWebhookSecret: route({
    operationId: 'rotateWebhookSecret', tag: 'webhooks', summary: 'Rotate the signing secret',
    description: 'A new signing secret. The previous ones keep signing beside it (one signature per secret) until previousValidUntil, so that a receiver can switch without losing a delivery.',
    params: endpointParams,
    ok: {
      200: {
        description: 'The new secret',
        ...object('The new secret', {
          secret: str('The new signing secret (whsec_…), shown this once'),
          previousValidUntil: instant('Until when the previous secrets keep signing'),
        }),
      },
    },
  }),
  testWebhook: route({
    operationId: 'testWebhook', tag: 'webhooks', summary: 'Send a test event',
    description: 'Sends a signed `webhook.test` event to the endpoint now (not part of the feed) and tells how the receiver answered.',
    params: endpointParams,
    ok: {
      200: object('How the receiver answered', {
        eventId: str('The test event\'s id'),
        status: { type: ['integer', 'null'], description: 'The receiver\'s HTTP status; null when no answer came' },
        durationMs: { type: 'integer', description: 'How long the send took' },
        excerpt: str('The start of the receiver\'s answer'),
        error: nullableStr('Why no answer came'),
      }),
    },
  }),
  listWebhookAttempts: route({
    operationId: 'listWebhookAttempts', tag: 'webhooks', summary: 'List delivery attempts',
    description: 'The endpoint\'s recorded delivery attempts, newest first, a page at a time.',
    scopes: WEBHOOK_READ, params: endpointParams, querystring: query({ limit: LIMIT, cursor: CURSOR }), ok: { 200: ref('WebhookAttemptPage', 'A page of attempts') },
  }),
  redeliverWebhookEvent: route({
    operationId: 'redeliverWebhookEvent', tag: 'webhooks', summary: 'Deliver one event again',
    description: 'Queues one event of the feed for the endpoint again, with the same `webhook-id` (a receiver that has it already drops it).',
    params: endpointParams,
    body: { type: 'object', properties: { eventId: str('The id of the event to deliver again') }, required: ['eventId'] },
    ok: { 202: object('Queued', { queued: { type: 'integer', description: 'How many events were queued (1)' } }) },
  }),
  replayWebhook: route({
    operationId: 'replayWebhook', tag: 'webhooks', summary: 'Replay the feed to an endpoint',
    description: 'Queues again every event of the endpoint\'s types after a feed cursor (absent: every event kept).',
    params: endpointParams,
    body: { type: 'object', properties: { after: str('A cursor of the event feed (a `nextCursor`)') } },
    ok: { 202: object('Queued', { queued: { type: 'integer', description: 'How many events were queued' } }) },
  }),
}

export const LOG = {
  listProvisioningLog: route({
    operationId: 'listProvisioningLog', tag: 'provisioning log', summary: 'Read the provisioning log',
    description: 'The organization\'s SCIM requests, newest first, a page at a time (docs/provisioning-log.md).',
    params: params(),
    querystring: query({
      since: str('Only entries from this ISO 8601 time, or this long ago (90s, 15m, 1h, 7d, 2w)', { examples: ['1h'] }),
      status: str('Only this status (409) or class (4xx)', { examples: ['4xx'] }),
      user: str('Only requests about this resource id'),
      identityProvider: { type: 'string', enum: Object.keys(IDP_NAMES), description: 'Only requests from this identity provider (as the entries name it; unknown: not recognised)' },
      limit: LIMIT,
      cursor: str('The `nextCursor` of the previous page'),
    }),
    ok: { 200: ref('LogPage', 'A page of the log') },
  }),
}

const DOMAIN_PARAM = str('A domain of the organization (or one to claim), e.g. acme.com; an internationalized name in either form')

export const ORG_SETTINGS = {
  getOrgSettings: route({
    operationId: 'getOrgSettings', tag: 'organizations', summary: 'Get the organization\'s settings',
    description: 'The organization\'s settings and email domains with their verification states.',
    scopes: ['directory:read', 'org:admin'], params: params(), ok: { 200: ref('OrgSettings', 'The settings') },
  }),
  updateOrgSettings: route({
    operationId: 'updateOrgSettings', tag: 'organizations', summary: 'Change the organization\'s settings',
    description: 'Adds and removes domains and changes the settings the body names, all or nothing: a value that is not valid is a 400 naming it and nothing is written. ' +
      'A domain is normalized (lower case, internationalized names to punycode); wildcards are refused, and consumer mailbox domains (gmail.com …) unless `force`. ' +
      'A domain another organization has verified is a 409, and so is one another organization lists unverified unless the operator allows shared domains (ROSTER_SHARED_DOMAINS=1). ' +
      'A change writes one audit entry and one `organization.updated` event; a body that changes nothing writes nothing.',
    scopes: ['directory:write', 'org:admin'], params: params(),
    body: {
      type: 'object',
      description: 'Every key optional; any other key is a 400',
      properties: {
        domainAdd: { type: 'array', items: { type: 'string' }, maxItems: 100, description: 'Domains to list' },
        domainRemove: { type: 'array', items: { type: 'string' }, maxItems: 100, description: 'Domains to stop listing' },
        force: { type: 'boolean', description: 'Accept consumer mailbox domains in domainAdd' },
        ...settingProperties,
      },
    },
    ok: { 200: ref('OrgSettings', 'The settings after the change') },
    errors: [400, 401, 403, 404, 409, 503],
  }),
  verifyOrgDomain: route({
    operationId: 'verifyOrgDomain', tag: 'organizations', summary: 'Verify a domain by DNS',
    description: 'The first call makes the DNS TXT record to publish and sets the domain `pending` (listing it when the organization did not). ' +
      'Later calls look the record up: `verified`, or `failed` with the reason in `detail`. A verified domain supersedes every other organization\'s claim on it; ' +
      'a domain another organization has verified is a 409.',
    scopes: ['directory:write', 'org:admin'], params: params({ domain: DOMAIN_PARAM }),
    ok: { 200: ref('DomainState', 'The domain\'s state, with the record to publish while pending or failed') },
    errors: [400, 401, 403, 404, 409, 503],
  }),
  listOrgAudit: route({
    operationId: 'listOrgAudit', tag: 'organizations', summary: 'Read the organization\'s audit log',
    description: 'Changes of the organization\'s settings and domains, newest first, a page at a time: who (`cli`, `api-key:<id>`, `system`), when and what.',
    scopes: ['log:read', 'org:admin'], params: params(), querystring: query({ limit: LIMIT, cursor: CURSOR }),
    ok: { 200: ref('AuditPage', 'A page of audit entries') },
  }),
}

const SCHEMA_PARAM = params({ urn: str('The schema\'s URN (URL-encoded), case-insensitively', { examples: ['urn:ietf:params:scim:schemas:extension:acme:2.0:User'] }) })

export const ORG_SCHEMAS = {
  listOrgSchemas: route({
    operationId: 'listOrgSchemas', tag: 'organizations', summary: 'List the declared extension schemas',
    description: 'The extension schemas the organization declares: what its identity provider discovers at /Schemas and /ResourceTypes with the organization\'s token, and what SCIM validates, stores, filters and returns.',
    scopes: ['directory:read', 'org:admin'], params: params(), ok: { 200: ref('DeclaredSchemaList', 'The declarations') },
  }),
  declareOrgSchema: route({
    operationId: 'declareOrgSchema', tag: 'organizations', summary: 'Declare an extension schema',
    description: 'Declares one extension schema, or replaces the declaration of the same URN. The body is RFC 7643 §7\'s schema representation (`id`, `name`, `description`, `attributes` with `type`, ' +
      '`multiValued`, `required`, `caseExact`, `mutability`, `returned`, `uniqueness` (none; server or global on a single-valued simple attribute), `canonicalValues`, `subAttributes`), plus `resourceType` (User or Group), `required`, and per string ' +
      'attribute `maxLength`, `pattern` and `allowedCharacters`. A declaration that is not valid is a 400 naming the part at fault; nothing is written. A change writes one audit entry and one ' +
      '`organization.updated` event; a declaration equal to the stored one writes nothing. Values users already hold stay stored when a declaration is replaced or removed.',
    scopes: ['directory:write', 'org:admin'], params: params(), body: { type: 'object', description: 'The declaration' },
    ok: { 200: ref('DeclaredSchema', 'The declaration, replaced or unchanged'), 201: ref('DeclaredSchema', 'The declaration, new') },
    errors: [400, 401, 403, 404, 503],
  }),
  removeOrgSchema: route({
    operationId: 'removeOrgSchema', tag: 'organizations', summary: 'Remove a declared extension schema',
    description: 'Removes the declaration: SCIM stops accepting and showing its attributes at once. The values users hold stay stored and show again if the schema is declared again.',
    scopes: ['directory:write', 'org:admin'], params: SCHEMA_PARAM, ok: { 204: { type: 'null', description: 'Removed' } },
  }),
}

const invitationParams = ID('user')

export const INVITATIONS = {
  acceptInvitation: route({
    operationId: 'acceptInvitation', tag: 'invitations', summary: 'Accept an invitation',
    description: 'Accepts the invitation whose token the email\'s link carried (ROSTER_INVITE_URL with `{token}` replaced): in one transaction the invitation ends, the user becomes active ' +
      '(state `active`, a new version) and `user.invitation_accepted` is written. A token works once. The API key must be of the invitation\'s organization, or an operator key; ' +
      'another organization\'s invitation is unknown (404). A user the identity provider deactivated (or deleted, kept under `deprovision: suspend`) cannot accept: ' +
      '409 `user_suspended`, and nothing changes; the link works again once the user is reactivated, until it expires.',
    body: {
      type: 'object',
      properties: { token: str('The invitation token from the link (roster_inv_…)', { maxLength: 200 }) },
      required: ['token'],
    },
    ok: { 200: ref('ApiUser', 'The user, now active') },
    errors: [400, 401, 403, 404, 409, 410, 503],
  }),
  getUserInvitation: route({
    operationId: 'getUserInvitation', tag: 'invitations', scopes: ['directory:read'], summary: 'Get a user\'s invitation',
    description: 'The user\'s newest invitation: its status, when it was sent and expires, the attempts and the last error (never its token). 404 when the user has none.',
    params: invitationParams, ok: { 200: ref('ApiInvitation', 'The newest invitation') },
  }),
  resendUserInvitation: route({
    operationId: 'resendUserInvitation', tag: 'invitations', summary: 'Send a new invitation',
    description: 'Revokes the user\'s open invitation (its link stops working) and queues a new one, which is emailed with a new token within moments. The user must be pending (409 otherwise).',
    params: invitationParams, ok: { 202: ref('ApiInvitation', 'The new invitation, queued') }, errors: [400, 401, 403, 404, 409, 503],
  }),
  revokeUserInvitation: route({
    operationId: 'revokeUserInvitation', tag: 'invitations', summary: 'Revoke the invitation',
    description: 'Revokes the user\'s open (queued or sent) invitation: its link stops working and a queued email is not sent. The user stays pending. 404 when there is no open invitation.',
    params: invitationParams, ok: { 204: { type: 'null', description: 'Revoked' } },
  }),
}

export const REFERENCE = {
  getOpenApiDocument: route({
    operationId: 'getOpenApiDocument', tag: 'reference', summary: 'This OpenAPI document',
    description: 'The OpenAPI 3.1 document of /api/v1, generated from the routes\' own schemas (also in the repository as docs/openapi.json). The reference page is at /api/v1/reference.',
    public: true, ok: { 200: freeForm('The OpenAPI 3.1 document') }, errors: [],
  }),
}
