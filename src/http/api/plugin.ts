// The vendor API under /api/v1 (docs/api.md), authenticated by an API key
// (`Authorization: Bearer roster_api_…`) of one organization or of the operator, with scopes
// (access.ts). A SCIM token is refused: it is an identity provider's credential for one
// organization's directory, not a key to this API. Errors are one small JSON shape,
// `{ "error": code, "message": text }` (docs/errors.md); a client's bad input is a 4xx, never a 500.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hashApiKey, isWellFormedApiKey } from '../../orgs/api-keys.ts'
import { TOKEN_PREFIX } from '../../orgs/tokens.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { LogQueryError } from '../../provisioning/log-query.ts'
import { StoreUnavailable } from '../../store/store.ts'
import { keyToucher } from './access.ts'
import { registerDirectoryRoutes } from './directory.ts'
import { ApiError } from './errors.ts'
import { registerEventRoutes } from './events.ts'
import { registerLogRoutes } from './provisioning-log.ts'
import { registerWebhookRoutes } from './webhooks.ts'
import type { WebhookPolicy } from '../../events/webhooks.ts'

const CHALLENGE = 'Bearer realm="roster-api"'
const RETRY_AFTER_SECONDS = 5

function toApiError(err: unknown, reqId: string): { error: ApiError; bug: boolean } {
  if (err instanceof ApiError) return { error: err, bug: false }
  if (err instanceof LogQueryError) return { error: new ApiError(400, 'invalid_parameter', err.message), bug: false }
  if (err instanceof StoreUnavailable) return { error: new ApiError(503, 'unavailable', 'The database is temporarily unavailable; retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) }), bug: false }
  const fe = err as Partial<FastifyError>
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own refusals (a body that is not JSON, a schema's validation): its message names the problem.
    const message = fe.validation ? `The request is not valid: ${fe.message ?? ''}` : fe.statusCode === 413 ? 'The request body is too large' : 'The request is not valid'
    return { error: new ApiError(fe.statusCode, fe.statusCode === 413 ? 'too_large' : 'bad_request', message), bug: false }
  }
  return { error: new ApiError(500, 'internal', `Internal error; request id ${reqId}`), bug: true }
}

function sendApiError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { error, bug } = toApiError(err, request.id)
  if (bug) request.log.error({ err, reqId: request.id }, 'unexpected error')
  for (const [k, v] of Object.entries(error.headers)) void reply.header(k, v)
  return reply.code(error.status).send({ error: error.code, message: error.message, ...error.extra, ...(bug ? { requestId: request.id } : {}) })
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
}

export async function apiPlugin(app: FastifyInstance, opts: ApiPluginOptions): Promise<void> {
  const { deps } = opts
  const touch = keyToucher(deps, (err) => app.log.warn({ err }, 'api key: could not record its use'))
  app.decorateRequest('apiKey', null)
  app.setErrorHandler((err, request, reply) => sendApiError(err, request, reply))
  app.setNotFoundHandler((request, reply) => sendApiError(new ApiError(404, 'not_found', `No endpoint ${request.method} ${request.url.split('?')[0]}`), request, reply))
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization
    if (header === undefined) throw unauthorized('Authorization header with a Bearer API key is required')
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
    if (!m?.[1]) throw unauthorized('Authorization must be "Bearer <API key>"')
    const secret = m[1]
    if (secret.startsWith(TOKEN_PREFIX)) throw unauthorized('A SCIM token does not grant access to this API; use an API key (roster api-key create)')
    const key = isWellFormedApiKey(secret) ? await deps.store.apiKeyByHash(hashApiKey(secret)) : null
    if (!key) throw unauthorized('The API key is not valid')
    if (key.expiresAt !== null && key.expiresAt <= deps.now().toISOString()) throw unauthorized('The API key has expired')
    request.apiKey = key
    touch(key)
  })
  registerLogRoutes(app, deps)
  registerDirectoryRoutes(app, deps)
  registerEventRoutes(app, deps, { retentionDays: opts.eventRetentionDays ?? 30, closing: opts.closing ?? new Promise(() => undefined) })
  registerWebhookRoutes(app, deps, opts.webhookPolicy ?? { allowPrivate: false })
}
