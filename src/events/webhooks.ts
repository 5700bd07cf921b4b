// Webhook endpoints of an organization (docs/events.md): add (the secret is shown once), list,
// change, remove, rotate the secret (the old one keeps signing beside the new one for the
// overlap, so a receiver can switch without losing a delivery), send a test, redeliver one event,
// replay from a feed cursor. The API and the CLI both call these.
import type { Deps } from '../provisioning/deps.ts'
import type { OrgId } from '../store/store.ts'
import type { AttemptRow, WebhookEndpointRow, WebhookSecret } from '../store/webhook-store.ts'
import { EVENT_TYPES, isEventType } from './build.ts'
import { decodeFeedCursor } from './cursor.ts'
import { parseEventId } from './rows.ts'
import { postWebhook, validateWebhookUrl, type ResolveHost, type WebhookResponse } from './outbound.ts'
import { generateWebhookSecret, webhookHeaders } from './signing.ts'

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000

export class WebhookError extends Error {
  constructor(readonly code: 'ROSTER_ERR_WEBHOOK_URL' | 'ROSTER_ERR_WEBHOOK_TYPES' | 'ROSTER_ERR_WEBHOOK_NOT_FOUND' | 'ROSTER_ERR_WEBHOOK_CURSOR' | 'ROSTER_ERR_WEBHOOK_EVENT', message: string) {
    super(message)
    this.name = 'WebhookError'
  }
}

export interface WebhookPolicy {
  /** ROSTER_WEBHOOK_ALLOW_PRIVATE: loopback, link-local and private addresses are allowed. */
  readonly allowPrivate: boolean
  readonly lookup?: ResolveHost
  /** ROSTER_WEBHOOK_TIMEOUT_MS: the longest wait for a receiver, a test send's as a delivery's (outbound.ts's default when absent). */
  readonly timeoutMs?: number
}

/** The secrets that sign at `nowIso`: the current one and rotated-out ones until they expire. */
export function activeSecrets(secrets: readonly WebhookSecret[], nowIso: string): WebhookSecret[] {
  return secrets.filter((s) => s.expiresAt === null || s.expiresAt > nowIso)
}

/** An endpoint as the API shows it: never its secrets. */
export function publicEndpoint(e: WebhookEndpointRow) {
  return {
    id: e.id, url: e.url, description: e.description, eventTypes: e.eventTypes, enabled: e.enabled,
    failingSince: e.failingSince, disabledReason: e.disabledReason, createdAt: e.createdAt, updatedAt: e.updatedAt,
  }
}

/**
 * The endpoint URL with each query value replaced, for a reader who may not change the endpoint
 * (webhooks:read) and for the feed's `webhook.endpoint_disabled` notice (events:read): a
 * receiver's URL often carries its own secret in the query string.
 */
export function redactedUrl(url: string): string {
  const u = new URL(url)
  if (u.search === '' && u.hash === '') return url
  const keys = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=redacted`)
  return `${u.origin}${u.pathname}${keys.length > 0 ? `?${keys.join('&')}` : ''}`
}

function checkUrl(url: unknown, policy: WebhookPolicy): string {
  if (typeof url !== 'string') throw new WebhookError('ROSTER_ERR_WEBHOOK_URL', 'url must be a string')
  const check = validateWebhookUrl(url, policy.allowPrivate)
  if (!check.ok) throw new WebhookError('ROSTER_ERR_WEBHOOK_URL', `url ${JSON.stringify(url)} cannot receive webhooks: ${check.reason}`)
  return check.url.toString()
}

export function checkEventTypes(types: unknown): string[] {
  if (types === undefined || types === null) return []
  const list = typeof types === 'string' ? types.split(',').map((t) => t.trim()).filter((t) => t !== '') : types
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) throw new WebhookError('ROSTER_ERR_WEBHOOK_TYPES', 'eventTypes must be a list of event types')
  for (const t of list) {
    if (!isEventType(t)) throw new WebhookError('ROSTER_ERR_WEBHOOK_TYPES', `Unknown event type "${t}"; types are ${EVENT_TYPES.join(', ')}`)
  }
  return [...new Set(list as string[])]
}

function checkDescription(d: unknown): string {
  if (d === undefined || d === null) return ''
  if (typeof d !== 'string' || d.length > 500) throw new WebhookError('ROSTER_ERR_WEBHOOK_URL', 'description must be a string of at most 500 characters')
  return d
}

async function found(deps: Deps, orgId: OrgId, id: string): Promise<WebhookEndpointRow> {
  const e = await deps.store.webhooks.getEndpoint(orgId, id)
  if (!e) throw new WebhookError('ROSTER_ERR_WEBHOOK_NOT_FOUND', `No webhook endpoint "${id}"`)
  return e
}

/** Adds an endpoint for the events from now on; its secret is returned this once. */
export async function addWebhook(deps: Deps, orgId: OrgId, input: { url: unknown; eventTypes?: unknown; description?: unknown }, policy: WebhookPolicy): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  const url = checkUrl(input.url, policy)
  const eventTypes = checkEventTypes(input.eventTypes)
  const secret = generateWebhookSecret()
  const endpoint = await deps.store.webhooks.createEndpoint({
    orgId, id: deps.newId(), url, description: checkDescription(input.description), eventTypes, secret, now: deps.now().toISOString(),
  })
  return { endpoint, secret }
}

export function listWebhooks(deps: Deps, orgId: OrgId): Promise<readonly WebhookEndpointRow[]> {
  return deps.store.webhooks.listEndpoints(orgId)
}

export function getWebhook(deps: Deps, orgId: OrgId, id: string): Promise<WebhookEndpointRow> {
  return found(deps, orgId, id)
}

export async function updateWebhook(deps: Deps, orgId: OrgId, id: string, input: Record<string, unknown>, policy: WebhookPolicy): Promise<WebhookEndpointRow> {
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw new WebhookError('ROSTER_ERR_WEBHOOK_URL', 'enabled must be true or false')
  const updated = await deps.store.webhooks.updateEndpoint(orgId, id, {
    now: deps.now().toISOString(),
    ...(input.url === undefined ? {} : { url: checkUrl(input.url, policy) }),
    ...(input.eventTypes === undefined ? {} : { eventTypes: checkEventTypes(input.eventTypes) }),
    ...(input.description === undefined ? {} : { description: checkDescription(input.description) }),
    ...(typeof input.enabled === 'boolean' ? { enabled: input.enabled } : {}),
  })
  if (!updated) throw new WebhookError('ROSTER_ERR_WEBHOOK_NOT_FOUND', `No webhook endpoint "${id}"`)
  return updated
}

export async function removeWebhook(deps: Deps, orgId: OrgId, id: string): Promise<void> {
  if (!(await deps.store.webhooks.deleteEndpoint(orgId, id))) throw new WebhookError('ROSTER_ERR_WEBHOOK_NOT_FOUND', `No webhook endpoint "${id}"`)
}

/**
 * A new secret; the previous ones keep signing for ROTATION_OVERLAP_MS (Standard Webhooks sends
 * one signature per secret in `webhook-signature`), then only the new one does.
 */
export async function rotateWebhookSecret(deps: Deps, orgId: OrgId, id: string): Promise<{ secret: string; previousValidUntil: string }> {
  const now = deps.now()
  const until = new Date(now.getTime() + ROTATION_OVERLAP_MS).toISOString()
  const secret = generateWebhookSecret()
  const updated = await deps.store.webhooks.updateEndpoint(orgId, id, {
    now: now.toISOString(),
    secrets: (current) => [{ secret, expiresAt: null }, ...activeSecrets(current, now.toISOString()).map((s) => ({ secret: s.secret, expiresAt: s.expiresAt ?? until }))],
  })
  if (!updated) throw new WebhookError('ROSTER_ERR_WEBHOOK_NOT_FOUND', `No webhook endpoint "${id}"`)
  return { secret, previousValidUntil: until }
}

/** Sends a `webhook.test` event to the endpoint now, signed as deliveries are; not part of the feed. */
export async function testWebhook(deps: Deps, orgId: OrgId, id: string, policy: WebhookPolicy): Promise<WebhookResponse & { eventId: string }> {
  const e = await found(deps, orgId, id)
  const now = deps.now()
  const eventId = deps.newId()
  const body = JSON.stringify({ id: eventId, type: 'webhook.test', timestamp: now.toISOString(), data: { orgId, endpointId: id } })
  const secrets = activeSecrets(e.secrets, now.toISOString()).map((s) => s.secret)
  const res = await postWebhook(e.url, { ...webhookHeaders(secrets, eventId, Math.floor(now.getTime() / 1_000), body) }, body, {
    allowPrivate: policy.allowPrivate, ...(policy.lookup ? { lookup: policy.lookup } : {}), ...(policy.timeoutMs === undefined ? {} : { timeoutMs: policy.timeoutMs }),
  })
  return { ...res, eventId }
}

/** Queues one event again (same `webhook-id`: a receiver that has it already drops it). */
export async function redeliverEvent(deps: Deps, orgId: OrgId, id: string, eventId: string): Promise<void> {
  await found(deps, orgId, id)
  const { rowId, index } = parseEventId(eventId)
  if (!(await deps.store.webhooks.redeliver(orgId, id, rowId, index, deps.newId, deps.now().getTime()))) {
    throw new WebhookError('ROSTER_ERR_WEBHOOK_EVENT', `No event "${eventId}" in the feed (events are kept for the retention period)`)
  }
}

/** Queues again every event after a feed cursor (absent: every event kept) of the endpoint's types. */
export async function replayWebhook(deps: Deps, orgId: OrgId, id: string, after: string | undefined): Promise<number> {
  await found(deps, orgId, id)
  const cursor = after === undefined || after === '' ? { position: 0 } : decodeFeedCursor(after)
  if (!cursor) throw new WebhookError('ROSTER_ERR_WEBHOOK_CURSOR', 'after is not a cursor the event feed returned')
  return deps.store.webhooks.replay(orgId, id, cursor.position, deps.newId, deps.now().getTime())
}

export function listAttempts(deps: Deps, orgId: OrgId, id: string, before: string | null, limit: number): Promise<readonly AttemptRow[]> {
  return deps.store.webhooks.listAttempts(orgId, id, before, limit)
}
