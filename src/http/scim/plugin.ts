// The SCIM surface under /scim/v2: content types, bearer auth, discovery and the resource
// routes. Route handlers stay thin: parse, call one use case, shape the response.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import { ScimError, quote } from '../../scim/errors.ts'
import { etagMatchesTag, etagOf } from '../../scim/etag.ts'
import type { OrgId } from '../../store/store.ts'
import { detectIdentityProvider, type ScimTrace } from '../../scim/compat/detect.ts'
import type { LogAppender } from '../../provisioning/log-appender.ts'
import { findNul, mayHoldNul, nulMessage, urlHoldsNul } from '../nul.ts'
import { hugeNumberMessage, invalidUtf8Message, invalidUtf8Path, mayHoldHugeNumber, pathOfHugeNumber, utf8Text } from '../utf8.ts'
import { type RateLimiter, tooManyRequests } from '../rate-limit.ts'
import type { AuthFailureLimiter } from '../auth-failures.ts'
import { requestDeadlines } from '../deadline.ts'
import { acceptsAny } from '../accept.ts'
import { authenticate } from './auth.ts'
import { resourceTypes, schemas, serviceProviderConfig } from './discovery.ts'
import { SCIM_CONTENT_TYPE, sendScimError } from './errors.ts'
import { logResponse, startRequestLog } from './request-log.ts'
import { registerResourceRoutes } from './resources.ts'
import { orgResources } from '../../provisioning/org-schemas.ts'
import { registerBulkRoute } from './bulk.ts'

declare module 'fastify' {
  interface FastifyRequest {
    orgId: OrgId | null
    /** The version of the organization's declared schemas its token lookup read (provisioning/org-schemas.ts). */
    schemaVersion: number | null
    /** Set for every SCIM request before authentication. */
    scimTrace: ScimTrace
  }
}

export interface ScimPluginOptions {
  readonly deps: Deps
  /** The base URL of answers for a request's protocol and Host header (http/base-url.ts). */
  readonly baseUrl: (protocol: string, host: string | undefined) => string
  /** Where the provisioning-log rows of requests that wrote nothing go. */
  readonly appender: LogAppender
  /** Provisioning-log ids for an arrival time (a UUIDv7 generator). */
  readonly logIdAt: (ms: number) => string
  /** Milliseconds a request may take to be answered (http/deadline.ts); none when absent. */
  readonly deadlineMs?: number
  /** Per-token and per-organization limits (http/rate-limit.ts); none when absent. */
  readonly rateLimiter?: RateLimiter
  /** Failed authentications per source address (http/auth-failures.ts); none counted when absent. */
  readonly authFailures?: AuthFailureLimiter
  /** Records a token's use by the identity provider (console/scim-tokens.ts tokenUseRecorder). */
  readonly tokenUsed?: (hash: string, identityProvider: string) => Promise<void>
}

/** Sends a SCIM document; `body` may already be its JSON text; `tag` is its ETag's value (render.ts tagOf). */
export function sendJson(reply: FastifyReply, status: number, body: unknown, tag?: string): FastifyReply {
  if (tag !== undefined) void reply.header('etag', etagOf(tag))
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(typeof body === 'string' ? body : JSON.stringify(body))
}

/** 304 when If-None-Match names the current representation (RFC 7644 §3.14). */
export function notModified(request: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  const inm = request.headers['if-none-match']
  if (typeof inm === 'string' && etagMatchesTag(inm, tag)) {
    void reply.header('etag', etagOf(tag)).code(304).send()
    return true
  }
  return false
}

function orgOf(request: FastifyRequest): OrgId {
  if (request.orgId === null) throw new ScimError(401, null, 'Not authenticated')
  return request.orgId
}

const WITH_CHARSET = `${SCIM_CONTENT_TYPE}; charset=utf-8`
/** What an Accept header must admit one of: the SCIM answer's type, or JSON, which it is. */
const SCIM_ANSWERS = [SCIM_CONTENT_TYPE, 'application/json']

const PUBLIC = new Set(['/serviceproviderconfig', '/resourcetypes', '/schemas'])

/**
 * After authentication (a caller without a token hears 401 first), before the body is read, in
 * the same hook: an Accept that admits no JSON is 406 (http/accept.ts, RFC 7644 §3.8, RFC 9110
 * §12.5.1).
 */
function refuseUnacceptable(request: FastifyRequest): void {
  const accept = request.headers.accept
  if (!acceptsAny(accept, SCIM_ANSWERS)) {
    throw new ScimError(406, null, `Accept: ${quote(accept, 100)} admits no type this server answers; SCIM answers application/scim+json (accept it, application/json or */*, or send no Accept)`)
  }
}

export async function scimPlugin(app: FastifyInstance, opts: ScimPluginOptions): Promise<void> {
  const { deps } = opts
  // application/scim+json is SCIM's media type (RFC 7644 §3.1); application/json is accepted too.
  // An empty body parses as undefined so that DELETE with a Content-Type still works.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'buffer', bodyLimit: deps.limits.maxBodyBytes }, (req, raw, done) => {
    const bytes = raw as Buffer
    if (bytes.length === 0) {
      done(null, undefined)
      return
    }
    // Bytes that are not UTF-8 are refused, not read as U+FFFD and stored (http/utf8.ts).
    const body = utf8Text(bytes)
    if (body === null) {
      const at = invalidUtf8Path(bytes)
      done(new ScimError(400, at === null ? 'invalidSyntax' : 'invalidValue', invalidUtf8Message(at)), undefined)
      return
    }
    const nul = mayHoldNul(body)
    const huge = mayHoldHugeNumber(body)
    if (!nul && !huge) {
      void parseJson(req, body, done)
      return
    }
    void parseJson(req, body, (err, parsed) => {
      const at = err || !nul ? null : findNul(parsed)
      // A 400-digit literal parses as Infinity, which no attribute can hold (JSON.stringify writes null).
      const big = err || !huge ? null : pathOfHugeNumber(parsed)
      if (at !== null) done(new ScimError(400, 'invalidValue', nulMessage(at)), undefined)
      else if (big !== null) done(new ScimError(400, 'invalidValue', hugeNumberMessage(big)), undefined)
      else done(err, parsed)
    })
  })

  // First, so that its time includes authentication.
  if (opts.deadlineMs !== undefined) requestDeadlines(app, opts.deadlineMs)
  app.decorateRequest('orgId', null)
  app.decorateRequest('schemaVersion', null)
  app.decorateRequest('scimTrace', null as unknown as ScimTrace)
  app.decorateRequest('requestLog', null)
  const baseUrlOf = (request: FastifyRequest): string => `${opts.baseUrl(request.protocol, request.headers.host)}/scim/v2`

  app.addHook('onRequest', async (request) => {
    request.scimTrace = { identityProvider: detectIdentityProvider(request.headers['user-agent'], request.url), notes: [] }
    const atMs = deps.now().getTime()
    request.requestLog = startRequestLog(opts.logIdAt(atMs), atMs)
    if (urlHoldsNul(request.url)) throw new ScimError(400, 'invalidValue', 'The request URL contains a NUL character (%00), which no value may hold')
    const sub = request.url.slice(request.url.toLowerCase().indexOf('/scim/v2') + '/scim/v2'.length).split('?')[0] ?? ''
    const first = `/${sub.split('/')[1] ?? ''}`.toLowerCase()
    // Discovery is readable without a token (RFC 7643 §5: authenticationSchemes SHOULD be
    // readable unauthenticated) and then describes the server's standard schemas; with a token it
    // describes what that organization accepts, its declared extensions included, which is how
    // Entra ID and Okta discover custom attributes.
    if (request.method === 'GET' && PUBLIC.has(first) && request.headers.authorization === undefined) return refuseUnacceptable(request)
    const caller = await authenticate(deps.store, request, {
      onRevoked: (orgId) => {
        if (request.requestLog) request.requestLog.revokedOrgId = orgId
      },
      ...(opts.tokenUsed ? { onUsed: (hash: string) => opts.tokenUsed?.(hash, request.scimTrace.identityProvider) ?? Promise.resolve() } : {}),
      ...(opts.authFailures ? { failures: opts.authFailures } : {}),
    })
    request.orgId = caller.orgId
    request.schemaVersion = caller.schemaVersion
    const refused = opts.rateLimiter?.take(caller.tokenHash, caller.orgId)
    if (refused) throw tooManyRequests(refused)
    refuseUnacceptable(request)
  })
  app.addHook('onResponse', logResponse(opts.appender))
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.getHeader('content-type') === WITH_CHARSET) void reply.header('content-type', SCIM_CONTENT_TYPE)
    done(null, payload)
  })
  app.setErrorHandler((err, request, reply) => sendScimError(err, request, reply))
  app.setNotFoundHandler((request, reply) => sendScimError(new ScimError(404, null, `No SCIM endpoint ${request.method} ${request.url.split('?')[0]}`), request, reply))

  app.get('/ServiceProviderConfig', async (request, reply) => sendJson(reply, 200, serviceProviderConfig(baseUrlOf(request), deps.limits)))
  const discovered = async (request: FastifyRequest) => (request.orgId === null ? undefined : orgResources(deps, request.orgId, request.schemaVersion ?? undefined))
  app.get('/ResourceTypes', async (request, reply) => sendJson(reply, 200, resourceTypes(baseUrlOf(request), undefined, await discovered(request))))
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (request, reply) => sendJson(reply, 200, resourceTypes(baseUrlOf(request), request.params.id, await discovered(request))))
  app.get('/Schemas', async (request, reply) => sendJson(reply, 200, schemas(baseUrlOf(request), undefined, await discovered(request))))
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (request, reply) => sendJson(reply, 200, schemas(baseUrlOf(request), request.params.id, await discovered(request))))

  registerResourceRoutes(app, deps, baseUrlOf)
  registerBulkRoute(app, { deps, baseUrlOf, appender: opts.appender, logIdAt: opts.logIdAt, orgOf })
}
