// Webhook endpoints of an organization through the API: list, read and the recorded attempts
// with `webhooks:read` (a console viewer holds it) or `webhooks:manage`; add (the secret is in
// that one answer), change, remove, rotate the secret, send a test, redeliver one event, replay
// from a feed cursor with `webhooks:manage` only (docs/events.md). No answer holds a signing
// secret but those of add and rotate; a reader without `webhooks:manage` does not see the values
// of an endpoint URL's query string either, where some receivers take their key (Azure
// Functions' `?code=`, "Azure Functions HTTP trigger: API key authorization").
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DEFAULT_TIMEOUT_MS } from '../../events/outbound.ts'
import { postponeDeadline, requestDeps } from '../deadline.ts'
import type { Deps } from '../../provisioning/deps.ts'
import {
  WebhookError, addWebhook, getWebhook, listAttempts, listWebhooks, publicEndpoint, redactedUrl, redeliverEvent, removeWebhook, replayWebhook,
  rotateWebhookSecret, testWebhook, updateWebhook, type WebhookPolicy,
} from '../../events/webhooks.ts'
import { authorize, authorizeAny, holdsScope } from './access.ts'
import { ApiError } from './errors.ts'
import type { OrgId } from '../../store/store.ts'
import type { WebhookEndpointRow } from '../../store/webhook-store.ts'
import { decodeCursor, encodeCursor, parseLimit } from './paging.ts'
import { WEBHOOKS } from './schemas.ts'

type Body = Record<string, unknown>

function bodyOf(body: unknown): Body {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid_parameter', 'The body must be a JSON object')
  return body as Body
}

/** A WebhookError as the API's error. */
function apiErrorOf(e: unknown): unknown {
  if (!(e instanceof WebhookError)) return e
  if (e.code === 'ROSTER_ERR_WEBHOOK_NOT_FOUND' || e.code === 'ROSTER_ERR_WEBHOOK_EVENT') return new ApiError(404, 'not_found', e.message)
  return new ApiError(400, 'invalid_parameter', e.message)
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw apiErrorOf(e)
  }
}

interface OrgParams { org: string }
interface IdParams extends OrgParams { id: string }

export function registerWebhookRoutes(app: FastifyInstance, appDeps: Deps, policy: WebhookPolicy): void {
  // Each handler's deps carry its request's deadline (http/deadline.ts requestDeps).
  const deps = appDeps
  const org = (request: FastifyRequest, param: string) => authorize(deps, request, param, 'webhooks:manage')
  const reader = (request: FastifyRequest, param: string) => authorizeAny(deps, request, param, ['webhooks:read', 'webhooks:manage'])
  /** An endpoint as this reader may see it. */
  const shown = (request: FastifyRequest, o: { id: OrgId }, e: WebhookEndpointRow) => {
    const p = publicEndpoint(e)
    return holdsScope(request, o.id, 'webhooks:manage') ? p : { ...p, url: redactedUrl(p.url) }
  }

  app.get<{ Params: OrgParams }>('/orgs/:org/webhooks', { schema: WEBHOOKS.listWebhooks }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const o = await reader(request, request.params.org)
    return { data: (await listWebhooks(deps, o.id)).map((e) => shown(request, o, e)), nextCursor: null }
  })

  app.post<{ Params: OrgParams }>('/orgs/:org/webhooks', { schema: WEBHOOKS.createWebhook }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const body = bodyOf(request.body)
    const o = await org(request, request.params.org)
    const { endpoint, secret } = await mapped(() => addWebhook(deps, o.id, { url: body.url, eventTypes: body.eventTypes, description: body.description }, policy))
    return reply.code(201).send({ ...publicEndpoint(endpoint), secret })
  })

  app.get<{ Params: IdParams }>('/orgs/:org/webhooks/:id', { schema: WEBHOOKS.getWebhook }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const o = await reader(request, request.params.org)
    return shown(request, o, await mapped(() => getWebhook(deps, o.id, request.params.id)))
  })

  app.patch<{ Params: IdParams }>('/orgs/:org/webhooks/:id', { schema: WEBHOOKS.updateWebhook }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const body = bodyOf(request.body)
    const o = await org(request, request.params.org)
    return publicEndpoint(await mapped(() => updateWebhook(deps, o.id, request.params.id, body, policy)))
  })

  app.delete<{ Params: IdParams }>('/orgs/:org/webhooks/:id', { schema: WEBHOOKS.deleteWebhook }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const o = await org(request, request.params.org)
    await mapped(() => removeWebhook(deps, o.id, request.params.id))
    return reply.code(204).send()
  })

  app.post<{ Params: IdParams }>('/orgs/:org/webhooks/:id/rotate-secret', { schema: WEBHOOKS.rotateWebhookSecret }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const o = await org(request, request.params.org)
    return mapped(() => rotateWebhookSecret(deps, o.id, request.params.id))
  })

  app.post<{ Params: IdParams }>('/orgs/:org/webhooks/:id/test', { schema: WEBHOOKS.testWebhook }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const o = await org(request, request.params.org)
    // Waiting for the receiver (at most the outbound timeout) is not the server's work: the
    // request's deadline (http/deadline.ts) counts from when that wait would end.
    postponeDeadline(request, reply, Date.now() + (policy.timeoutMs ?? DEFAULT_TIMEOUT_MS))
    const r = await mapped(() => testWebhook(deps, o.id, request.params.id, policy))
    return { eventId: r.eventId, status: r.status, durationMs: Math.round(r.durationMs), excerpt: r.excerpt, error: r.error ?? null }
  })

  app.get<{ Params: IdParams; Querystring: Record<string, unknown> }>('/orgs/:org/webhooks/:id/attempts', { schema: WEBHOOKS.listWebhookAttempts }, async (request) => {
    const deps = requestDeps(appDeps, request)
    const before = decodeCursor(request.query.cursor)
    const limit = parseLimit(request.query.limit)
    const o = await reader(request, request.params.org)
    await mapped(() => getWebhook(deps, o.id, request.params.id))
    const rows = await listAttempts(deps, o.id, request.params.id, before, limit)
    const last = rows[rows.length - 1]
    return { data: rows, nextCursor: rows.length === limit && last ? encodeCursor(last.id) : null }
  })

  app.post<{ Params: IdParams }>('/orgs/:org/webhooks/:id/redeliver', { schema: WEBHOOKS.redeliverWebhookEvent }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const body = bodyOf(request.body)
    if (typeof body.eventId !== 'string') throw new ApiError(400, 'invalid_parameter', 'eventId: the id of the event to deliver again is required')
    const o = await org(request, request.params.org)
    await mapped(() => redeliverEvent(deps, o.id, request.params.id, body.eventId as string))
    return reply.code(202).send({ queued: 1 })
  })

  app.post<{ Params: IdParams }>('/orgs/:org/webhooks/:id/replay', { schema: WEBHOOKS.replayWebhook }, async (request, reply) => {
    const deps = requestDeps(appDeps, request)
    const body = bodyOf(request.body)
    if (body.after !== undefined && typeof body.after !== 'string') throw new ApiError(400, 'invalid_parameter', 'after: a cursor of the event feed')
    const o = await org(request, request.params.org)
    const queued = await mapped(() => replayWebhook(deps, o.id, request.params.id, body.after as string | undefined))
    return reply.code(202).send({ queued })
  })
}
