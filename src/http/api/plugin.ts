// The vendor API under /api/v1 (docs/api.md), authenticated by an API key
// (`Authorization: Bearer roster_api_…`) of one organization or of the operator, with scopes
// (access.ts). A SCIM token is refused: it is an identity provider's credential for one
// organization's directory, not a key to this API. Errors are one small JSON shape,
// `{ "error": code, "message": text }` (docs/errors.md); a client's bad input is a 4xx, never a 500.
// Every route has a schema (schemas.ts); the OpenAPI document made from them is served at
// /api/v1/openapi.json and read as a page at /api/v1/reference, both without an API key.
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { hashApiKey, isWellFormedApiKey } from '../../orgs/api-keys.ts'
import { TOKEN_PREFIX } from '../../orgs/tokens.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { LogQueryError } from '../../provisioning/log-query.ts'
import { OrgGone, StoreUnavailable } from '../../store/store.ts'
import { DeadlineExceeded } from '../../store/deadline.ts'
import { keyToucher } from './access.ts'
import { requestDeadlines } from '../deadline.ts'
import { rateLimitHeaders, type Decision, type RateLimiter } from '../rate-limit.ts'
import { sourceKey, type AuthFailureLimiter } from '../auth-failures.ts'
import { findNul, nulMessage, urlHoldsNul } from '../nul.ts'
import { acceptsAny } from '../accept.ts'
import { hugeNumberMessage, invalidUtf8Message, invalidUtf8Path, mayHoldHugeNumber, pathOfHugeNumber, utf8Text } from '../utf8.ts'
import { registerDirectoryRoutes } from './directory.ts'
import { registerDirectoryWrites } from './directory-writes.ts'
import { ApiError, tooManyFailures } from './errors.ts'
import { registerEventRoutes } from './events.ts'
import { registerInvitationRoutes } from './invitations.ts'
import { registerLogRoutes } from './provisioning-log.ts'
import { registerOrgSettingsRoutes } from './org-settings.ts'
import { registerOrgSchemaRoutes } from './org-schemas.ts'
import { systemTxtResolver, type TxtResolver } from '../../orgs/domains.ts'
import { registerWebhookRoutes } from './webhooks.ts'
import type { WebhookPolicy } from '../../events/webhooks.ts'
import { REFERENCE, SHARED_SCHEMAS, TAGS } from './schemas.ts'
import { DEFAULT_POLICY, type ConsolePolicy } from '../../console/accounts.ts'
import type { ConsoleMailSettings } from '../../console/mail.ts'
import { sessionOf } from './console-auth.ts'
import { registerConsoleRoutes } from './console-routes.ts'
import { registerOperatorRoutes } from './operator-routes.ts'
import { registerScimTokenRoutes } from './scim-token-routes.ts'

const CHALLENGE = 'Bearer realm="roster-api"'
const RETRY_AFTER_SECONDS = 5

type Json = Record<string, unknown>

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What a schema accepts, in words: "an integer from 1 to 1000", "one of a, b". */
function accepted(schema: Json): string | null {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.filter((v) => v !== null).join(', ')}`
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => t !== 'null')
  if (types.includes('integer')) {
    const { minimum: min, maximum: max } = schema
    return typeof min === 'number' && typeof max === 'number' ? `an integer from ${min} to ${max}` : 'an integer'
  }
  if (types.includes('array')) return 'a list'
  if (types.includes('boolean')) return 'true or false'
  if (types.includes('string')) return typeof schema.maxLength === 'number' ? `text of at most ${schema.maxLength} characters` : 'text, given once'
  if (types.includes('object')) return 'an object'
  return null
}

const SHARED_BY_REF = new Map<string, Json>(SHARED_SCHEMAS.map((s) => [`${s.$id}#`, s]))

/** A schema, or the shared schema its `$ref` names. */
function deref(s: unknown): Json | null {
  if (!isJson(s)) return null
  return typeof s.$ref === 'string' ? (SHARED_BY_REF.get(s.$ref) ?? null) : s
}

/** The sub-schema and value at a JSON pointer's path (through properties, items and shared `$ref`s). */
function at(schema: unknown, value: unknown, path: readonly string[]): { schema: Json | null; value: unknown } {
  let s = deref(schema)
  let v = value
  for (const seg of path) {
    s = s === null ? null : deref(isJson(s.properties) && isJson(s.properties[seg]) ? s.properties[seg] : s.items)
    v = isJson(v) || Array.isArray(v) ? (v as Record<string, unknown>)[seg] : undefined
  }
  return { schema: s, value: v }
}

const CONTEXT_KEYS = { body: 'body', querystring: 'querystring', params: 'params', headers: 'headers' } as const
const REQUEST_KEYS = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' } as const

/**
 * A schema's refusal (FST_ERR_VALIDATION) as the API's 400 invalid_parameter, naming the
 * parameter (or body field) first, as the handlers' own checks do: `limit: must be an integer
 * from 1 to 1000 (got "0")`.
 */
function validationError(fe: FastifyError, request: FastifyRequest): ApiError {
  const first = fe.validation?.[0]
  const where = (fe.validationContext ?? 'body') as keyof typeof CONTEXT_KEYS
  const path = (first?.instancePath ?? '').split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  const missing = first?.keyword === 'required' ? (first.params as { missingProperty?: string }).missingProperty : undefined
  const name = path[0] ?? missing
  if (name === undefined) {
    return new ApiError(400, 'invalid_parameter', where === 'body' ? 'The body must be a JSON object' : `The ${where} is not valid: ${first?.message ?? fe.message}`)
  }
  if (missing !== undefined) return new ApiError(400, 'invalid_parameter', `${name}: is required`)
  const routeSchema = (request.routeOptions.schema ?? {}) as FastifySchema & Json
  const found = at(routeSchema[CONTEXT_KEYS[where]], request[REQUEST_KEYS[where]], path)
  const wanted = found.schema ? accepted(found.schema) : null
  const got = found.value === undefined ? '' : ` (got ${JSON.stringify(found.value)?.slice(0, 100) ?? String(found.value)})`
  return new ApiError(400, 'invalid_parameter', `${name}: ${wanted ? `must be ${wanted}` : (first?.message ?? 'is not valid')}${got}`)
}

function toApiError(err: unknown, request: FastifyRequest): { error: ApiError; bug: boolean } {
  if (err instanceof ApiError) return { error: err, bug: false }
  if (err instanceof LogQueryError) return { error: new ApiError(400, 'invalid_parameter', err.message), bug: false }
  if (err instanceof DeadlineExceeded) return { error: new ApiError(503, 'unavailable', 'The request took longer than the server allows (ROSTER_REQUEST_DEADLINE_MS); retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) }), bug: false }
  if (err instanceof OrgGone) return { error: new ApiError(404, 'not_found', 'No such organization'), bug: false }
  if (err instanceof StoreUnavailable) return { error: new ApiError(503, 'unavailable', 'The database is temporarily unavailable; retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) }), bug: false }
  const fe = err as FastifyError
  if (fe.validation && fe.statusCode === 400) return { error: validationError(fe, request), bug: false }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own refusals (a body that is not JSON, a media type it does not read).
    const message = fe.statusCode === 413 ? 'The request body is too large' : fe.statusCode === 415 ? 'The body must be JSON (Content-Type: application/json)' : 'The request is not valid'
    return { error: new ApiError(fe.statusCode, fe.statusCode === 413 ? 'too_large' : 'bad_request', message), bug: false }
  }
  return { error: new ApiError(500, 'internal', `Internal error; request id ${request.id}`), bug: true }
}

function sendApiError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { error, bug } = toApiError(err, request)
  if (bug) request.log.error({ err, reqId: request.id }, 'unexpected error')
  for (const [k, v] of Object.entries(error.headers)) void reply.header(k, v)
  return reply.code(error.status).send({ error: error.code, message: error.message, ...error.extra, ...(bug ? { requestId: request.id } : {}) })
}

/** The 429 of a refused request: `rate_limited`, with the same Retry-After and RateLimit fields as SCIM's. */
function tooManyApiRequests(d: Decision, credential: 'key' | 'session'): ApiError {
  const who = d.policy === 'org' ? 'organization' : credential === 'key' ? 'API key' : 'console account'
  return new ApiError(429, 'rate_limited', `Too many requests for this ${who}; retry after ${d.retryAfterSeconds} s`, rateLimitHeaders(d, credential))
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, { 'www-authenticate': CHALLENGE })
}

export interface ApiPluginOptions {
  readonly deps: Deps
  /** Days events are kept (a feed cursor older than that is a 410). */
  readonly eventRetentionDays?: number
  /** Resolves when the server closes (long-polls answer then). */
  readonly closing?: Promise<void>
  readonly webhookPolicy?: WebhookPolicy
  /** Two organizations may list one domain unverified (ROSTER_SHARED_DOMAINS=1; off when absent). */
  readonly sharedDomains?: boolean
  /** Where domain verification looks TXT records up (the system's DNS when absent; tests replace it). */
  readonly txtResolver?: TxtResolver
  /** The console's session, lock-out and link timings (console/accounts.ts DEFAULT_POLICY when absent). */
  readonly consolePolicy?: ConsolePolicy
  /** Where the console's emails go (invitations, password resets); none is sent when absent. */
  readonly consoleMail?: ConsoleMailSettings
  /** The server's base URL for a request (tenant URL, links in emails). */
  readonly baseUrl?: (request: FastifyRequest) => string
  /** ROSTER_PUBLIC_URL: an https one makes the session cookie Secure. */
  readonly publicUrl?: string | null
  /** Milliseconds a request may take to be answered (http/deadline.ts); none when absent. */
  readonly deadlineMs?: number
  /** Per-credential and per-organization limits (http/rate-limit.ts), buckets apart from SCIM's; none when absent. */
  readonly rateLimiter?: RateLimiter
  /** Failed authentications per source address, the same counts as SCIM's (http/auth-failures.ts); none when absent. */
  readonly authFailures?: AuthFailureLimiter
}

/** Routes that take neither an API key nor a session: signing in, and the links that set a password. */
const CONSOLE_PUBLIC = new Set(['/console/sign-in', '/console/password-reset', '/console/links/redeem'])

/** The OpenAPI document's fixed parts; the paths and schemas come from the routes. */
const OPENAPI: FastifyDynamicSwaggerOptions['openapi'] = {
  openapi: '3.1.0',
  info: {
    title: 'Roster API',
    version: '1.0.0',
    summary: 'The vendor API of Roster: an organization\'s directory, its event feed and webhooks, and its provisioning log.',
    description: 'Authenticate with an API key of the organization or of the operator (`roster api-key create`): `Authorization: Bearer roster_api_…`. ' +
      'Errors are `{ "error": code, "message": text }`. Lists are read a page at a time: pass a page\'s `nextCursor` as `cursor` (the event feed: as `after`). ' +
      'Guide: docs/api.md; events and webhooks: docs/events.md.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http', scheme: 'bearer', bearerFormat: 'roster_api_…',
        description: 'An API key (roster api-key create --org ORG --scope …), with the scope the endpoint names: directory:read, directory:write, events:read, webhooks:read, webhooks:manage, log:read, org:admin',
      },
      consoleSession: {
        type: 'apiKey', in: 'cookie', name: '__Host-roster_session',
        description: 'A console session (POST /api/v1/console/sign-in sets the cookie: `__Host-roster_session` over HTTPS, `roster_session` over plain HTTP); its role gives the scopes: an admin every scope of its organizations, a viewer directory:read, events:read and log:read, the operator every scope. ' +
          'A change (POST, PUT, PATCH, DELETE) must carry the session\'s X-CSRF-Token header (docs/console.md).',
      },
    },
  },
  security: [{ apiKey: [] }],
  tags: [...TAGS],
}

/** The page's logo: the name, in the top bar's colours. */
const LOGO = {
  type: 'image/svg+xml',
  content: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><text x="0" y="29" font-family="sans-serif" font-size="26" font-weight="bold" fill="#fff">Roster API</text></svg>'),
}

/** The reference page and its assets (served by @fastify/swagger-ui under this path). */
const REFERENCE_PATH = '/reference'

export async function apiPlugin(app: FastifyInstance, opts: ApiPluginOptions): Promise<void> {
  // First, so that its time includes authentication; before the routes, which it wraps. The
  // routes that write hand their use cases the request's deadline (deadline.ts requestDeps).
  if (opts.deadlineMs !== undefined) requestDeadlines(app, opts.deadlineMs)
  const { deps } = opts
  const limiter = opts.rateLimiter
  const touch = keyToucher(deps, (err) => app.log.warn({ err }, 'api key: could not record its use'))
  // Registered here, not on the root: the document sees this plugin's routes only (not SCIM's, not /healthz).
  await app.register(swagger, {
    openapi: OPENAPI,
    // Shared schemas are components named by their $id (ApiUser), not def-0.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  })
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  const publicPrefix = `${app.prefix}${REFERENCE_PATH}`
  const documentUrl = `${app.prefix}/openapi.json`
  /** The routes answered without an API key: the document, the reference page and its assets. */
  const isPublic = (routeUrl: string | undefined) => routeUrl === documentUrl || routeUrl === publicPrefix || routeUrl?.startsWith(`${publicPrefix}/`) === true ||
    (routeUrl !== undefined && CONSOLE_PUBLIC.has(routeUrl.slice(app.prefix.length)))
  const policy = opts.consolePolicy ?? DEFAULT_POLICY
  app.decorateRequest('apiKey', null)
  app.decorateRequest('consoleSession', null)
  app.setErrorHandler((err, request, reply) => sendApiError(err, request, reply))
  // JSON bodies are read as bytes: bytes that are not UTF-8 are refused, not read as U+FFFD and
  // stored (http/utf8.ts); the rest goes to Fastify's parser as before.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  // Fastify also reads text/plain by default, as a string, which a route then refused as "not a
  // JSON object" (400): a body of another type is 415, whatever it holds. text/plain is also a
  // type a browser's form may send across origins without a preflight (Fetch Standard, "CORS-
  // safelisted request-header"): no route takes it.
  app.removeContentTypeParser('text/plain')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const bytes = raw as Buffer
    const body = utf8Text(bytes)
    if (body === null) {
      const at = invalidUtf8Path(bytes)
      done(new ApiError(400, at === null ? 'bad_request' : 'invalid_parameter', invalidUtf8Message(at)), undefined)
      return
    }
    if (!mayHoldHugeNumber(body)) {
      void parseJson(req, body, done)
      return
    }
    // A 400-digit literal parses as Infinity, which a string field then stored as "Infinity".
    void parseJson(req, body, (err, parsed) => {
      const big = err ? null : pathOfHugeNumber(parsed)
      if (big !== null) done(new ApiError(400, 'invalid_parameter', hugeNumberMessage(big)), undefined)
      else done(err, parsed)
    })
  })
  app.setNotFoundHandler((request, reply) => sendApiError(new ApiError(404, 'not_found', `No endpoint ${request.method} ${request.url.split('?')[0]}`), request, reply))
  // After authentication, as on SCIM, in the same hook: every answer but the reference page's is
  // JSON, so an Accept that admits no JSON is 406 (http/accept.ts, RFC 9110 §12.5.1).
  const refuseUnacceptable = (request: FastifyRequest) => {
    const url = request.routeOptions.url
    if (url === publicPrefix || url?.startsWith(`${publicPrefix}/`) === true) return
    const accept = request.headers.accept
    if (!acceptsAny(accept, ['application/json'])) {
      throw new ApiError(406, 'not_acceptable', `Accept: ${JSON.stringify((accept ?? '').slice(0, 100))} admits no type this API answers; it answers application/json (accept it or */*, or send no Accept)`)
    }
  }
  const authenticateApi = async (request: FastifyRequest) => {
    if (isPublic(request.routeOptions.url)) return
    const header = request.headers.authorization
    if (header === undefined) {
      // The console: a session cookie instead of a key (console-auth.ts).
      request.consoleSession = await sessionOf(deps, policy, request, opts.publicUrl ?? null)
      if (request.consoleSession) {
        // A console account's own bucket (its sessions together); sign-in has its own throttle.
        const refused = limiter?.takeFrom(`s:${request.consoleSession.account.id}`, null)
        if (refused) throw tooManyApiRequests(refused, 'session')
        return
      }
      throw unauthorized('Authorization header with a Bearer API key is required')
    }
    // A source with too many failed authentications is refused before its key is looked up
    // (http/auth-failures.ts; the same counts as SCIM's).
    const source = sourceKey(request.ip)
    const wait = opts.authFailures?.refused(source) ?? null
    if (wait !== null) throw tooManyFailures(wait)
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (!m?.[1]) throw unauthorized('Authorization must be "Bearer <API key>"')
    const secret = m[1]
    if (secret.startsWith(TOKEN_PREFIX)) throw unauthorized('A SCIM token does not grant access to this API; use an API key (roster api-key create)')
    const key = isWellFormedApiKey(secret) ? await deps.store.apiKeyByHash(hashApiKey(secret)) : null
    if (!key) {
      opts.authFailures?.failed(source)
      throw unauthorized('The API key is not valid')
    }
    if (key.expiresAt !== null && key.expiresAt <= deps.now().toISOString()) throw unauthorized('The API key has expired')
    request.apiKey = key
    touch(key)
    const refused = limiter?.takeFrom(`k:${key.id}`, key.orgId === null ? null : `a:${key.orgId}`)
    if (refused) throw tooManyApiRequests(refused, 'key')
  }
  app.addHook('onRequest', async (request) => {
    await authenticateApi(request)
    refuseUnacceptable(request)
  })
  // An empty parameter (`?cursor=`) is an absent one, as every handler read it before the
  // schemas: dropped before validation, so that it neither fails a type nor skips a default.
  app.addHook('preValidation', async (request) => {
    if (urlHoldsNul(request.url)) {
      // Named as every parameter error is: the parameter first (docs/api.md).
      const param = findNul(request.query) ?? findNul(request.params)
      throw new ApiError(400, 'invalid_parameter', `${param ?? 'path'}: contains a NUL character (%00), which no value may hold`)
    }
    const at = request.body === undefined ? null : findNul(request.body)
    if (at !== null) throw new ApiError(400, 'invalid_parameter', nulMessage(at))
    const q = request.query
    if (isJson(q)) for (const k of Object.keys(q)) if (q[k] === '') delete q[k]
  })
  registerLogRoutes(app, deps)
  registerDirectoryRoutes(app, deps)
  registerDirectoryWrites(app, deps)
  registerEventRoutes(app, deps, { retentionDays: opts.eventRetentionDays ?? 30, closing: opts.closing ?? new Promise(() => undefined) })
  registerWebhookRoutes(app, deps, opts.webhookPolicy ?? { allowPrivate: false })
  registerOrgSettingsRoutes(app, deps, { sharedDomains: opts.sharedDomains ?? false, txtResolver: opts.txtResolver ?? systemTxtResolver })
  registerInvitationRoutes(app, deps)
  registerOrgSchemaRoutes(app, deps)
  const baseUrl = opts.baseUrl ?? ((request: FastifyRequest) => `${request.protocol}://${request.hostname}`)
  registerConsoleRoutes(app, deps, { policy, mail: opts.consoleMail ?? null, baseUrl, publicUrl: opts.publicUrl ?? null, ...(opts.authFailures ? { authFailures: opts.authFailures } : {}) })
  registerScimTokenRoutes(app, deps, baseUrl, policy)
  registerOperatorRoutes(app, deps, { sharedDomains: opts.sharedDomains ?? false })

  // The document, serialized once (a string is sent as it is).
  let document: string | null = null
  app.get('/openapi.json', { schema: REFERENCE.getOpenApiDocument }, async (_request, reply) => {
    document ??= JSON.stringify(app.swagger())
    return reply.type('application/json; charset=utf-8').send(document)
  })
  await app.register(swaggerUi, {
    routePrefix: REFERENCE_PATH,
    // The page's links are absolute: the plugin's prefix (/api/v1) before routePrefix.
    indexPrefix: app.prefix,
    logo: LOGO,
    theme: { title: 'Roster API reference' },
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, tryItOutEnabled: false },
    // Everything the page loads comes from this server (the plugin's own policy adds
    // upgrade-insecure-requests, which breaks the page on a plain-HTTP server).
    staticCSP: "default-src 'self'; base-uri 'self'; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; " +
      "script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  })
}
