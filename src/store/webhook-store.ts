// What webhook delivery needs from the store (docs/events.md, "Webhooks"): endpoints per
// organization; pending deliveries, one lane per endpoint and resource, of which only a lane's
// oldest is ever handed out (so a lane delivers in order) and only under a lease that expires
// (so a killed worker's deliveries are taken over); and every attempt, kept for the API.
import type { NewEvent, OrgId, StoredEvents } from './store.ts'

export interface WebhookSecret {
  readonly secret: string
  /** null for the current secret; a rotated-out secret signs beside it until this instant. */
  readonly expiresAt: string | null
}

export interface WebhookEndpointRow {
  readonly orgId: OrgId
  readonly id: string
  readonly url: string
  readonly description: string
  /** Empty: every event type. */
  readonly eventTypes: readonly string[]
  readonly enabled: boolean
  readonly secrets: readonly WebhookSecret[]
  /** The last feed position fanned out into deliveries. */
  readonly cursor: number
  readonly createdAt: string
  readonly updatedAt: string
  /** When the current run of failures began; null while deliveries succeed. */
  readonly failingSince: string | null
  /** Why the endpoint was disabled (a 410, five days of failures, an admin), or null. */
  readonly disabledReason: string | null
}

export interface NewWebhookEndpoint {
  readonly orgId: OrgId
  readonly id: string
  readonly url: string
  readonly description: string
  readonly eventTypes: readonly string[]
  readonly secret: string
  readonly now: string
}

export interface WebhookEndpointChange {
  readonly url?: string
  readonly description?: string
  readonly eventTypes?: readonly string[]
  readonly enabled?: boolean
  /**
   * The new secrets from the current ones, read in the change's transaction with the endpoint
   * held: two rotations at once each keep the other's new secret.
   */
  readonly secrets?: (current: readonly WebhookSecret[]) => readonly WebhookSecret[]
  readonly now: string
}

/**
 * A claimed delivery with what sending it needs: the events `offset` … `until - 1` of one event
 * row (a membership row holds many), to be sent in order.
 */
export interface DeliveryJob {
  readonly id: string
  readonly orgId: OrgId
  readonly endpointId: string
  readonly position: number
  readonly offset: number
  readonly until: number
  readonly lane: string
  /** Failed attempts of the event at `offset`. */
  readonly attempts: number
  readonly firstFailureMs: number | null
  /** The stored row; null when retention deleted it before it was delivered. */
  readonly events: StoredEvents | null
  readonly url: string
  readonly secrets: readonly WebhookSecret[]
  readonly failingSince: string | null
}

export interface AttemptRow {
  readonly id: string
  readonly endpointId: string
  readonly eventId: string
  readonly eventType: string
  readonly at: string
  /** The receiver's HTTP status; null when no answer came (timeout, refused, blocked address). */
  readonly status: number | null
  readonly durationMs: number
  /** delivered | retrying | failed (retries exhausted) | disabled (the endpoint was disabled by it). */
  readonly outcome: 'delivered' | 'retrying' | 'failed' | 'disabled'
  readonly excerpt: string | null
  readonly error: string | null
}

/** What a finished attempt at the job's event `index` does to its delivery and endpoint. */
export type DeliveryResult = ({ readonly job: DeliveryJob; readonly index: number; readonly attempt: AttemptRow } & (
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly nextAttemptMs: number; readonly firstFailureMs: number }
  /** Retries exhausted: the lane goes on without it. */
  | { readonly kind: 'failed' }
  /** The endpoint is disabled; the delivery stays pending for when it is enabled again. */
  /**
   * `failingSince`: the endpoint's failing streak the decision rests on (five days of failures),
   * null for a 410. The endpoint is disabled only if that streak still runs when the result is
   * recorded: a delivery of another lane that succeeded meanwhile ended it. `notice`: the
   * `webhook.endpoint_disabled` event, written in the same transaction only when this result is
   * what turns the endpoint from enabled to disabled (docs/architecture.md EVT-8).
   */
  | { readonly kind: 'disable'; readonly reason: string; readonly failingSince: string | null; readonly notice: NewEvent }
)) | {
  /** Not attempted (the worker stopped, or its lease would end before the request): the lease is handed back at event `index`. */
  readonly kind: 'release'
  readonly job: DeliveryJob
  readonly index: number
}

export interface WebhookStore {
  createEndpoint(e: NewWebhookEndpoint): Promise<WebhookEndpointRow>
  getEndpoint(orgId: OrgId, id: string): Promise<WebhookEndpointRow | null>
  listEndpoints(orgId: OrgId): Promise<readonly WebhookEndpointRow[]>
  /** Changes an endpoint; enabling clears its failure run and reason. Null when there is none. */
  updateEndpoint(orgId: OrgId, id: string, change: WebhookEndpointChange): Promise<WebhookEndpointRow | null>
  /** Deletes an endpoint with its pending deliveries and attempts. */
  deleteEndpoint(orgId: OrgId, id: string): Promise<boolean>

  /**
   * Turns the events past each enabled endpoint's cursor into deliveries (at most `limit` events
   * per endpoint a call); returns how many deliveries it created. A disabled endpoint's cursor
   * stays where it was (its events wait in the feed), and an endpoint is never given the notice
   * of its own disabling.
   */
  fanOut(newId: () => string, nowMs: number, limit: number): Promise<number>
  /**
   * Records finished attempts and what follows from each, in one transaction. A retry, a release
   * or a disabling result hands its delivery's lease back only while `owner` still holds it: a
   * worker whose lease ran out (its results waited on a slow database) must not free a lane that
   * another worker has claimed since and is sending.
   */
  complete(results: readonly DeliveryResult[], now: string, owner: string): Promise<void>
  /**
   * complete(), then, in the same transaction (one commit a round of the delivery loop), leases
   * up to `claim.limit` lanes whose head is due and not leased, of enabled endpoints, to
   * `claim.owner` until `nowMs + leaseMs`: each lane its head, and when few lanes are due, up to
   * `followers` of its next deliveries too, to be sent one after another (a lane of 50,000
   * membership events then costs a claim per `followers` rows, not per event). Each lane's jobs
   * are in position order. Lanes are shared out among endpoints (docs/events.md, "Fairness"):
   * each endpoint gets a lane before any gets another, counting the lanes `busy` says it has in
   * flight in the claiming process, and none has more than `perEndpoint` in flight there.
   */
  completeAndClaim(
    results: readonly DeliveryResult[], now: string,
    claim: {
      readonly owner: string; readonly nowMs: number; readonly leaseMs: number; readonly limit: number; readonly followers: number
      readonly perEndpoint: number; readonly busy: readonly (readonly [endpointId: string, lanes: number])[]
    },
  ): Promise<readonly (readonly DeliveryJob[])[]>
  /** Whether a lane's head is due and not leased (a read: the delivery loop writes only when there is work). */
  hasDue(nowMs: number): Promise<boolean>
  /** Hands back the leases of `owner` (a worker stopping), so another worker takes them at once. */
  releaseLeases(owner: string): Promise<void>

  /** Attempts of an endpoint, newest first, before the attempt id `before`. */
  listAttempts(orgId: OrgId, endpointId: string, before: string | null, limit: number): Promise<readonly AttemptRow[]>
  /** Queues one event (the `index`th of the row `rowId`) again for an endpoint; false when it is not (or no longer) in the feed. */
  redeliver(orgId: OrgId, endpointId: string, rowId: string, index: number, newId: () => string, nowMs: number): Promise<boolean>
  /** Queues again every event of the endpoint's types after `afterPosition`, up to its cursor; returns how many. */
  replay(orgId: OrgId, endpointId: string, afterPosition: number, newId: () => string, nowMs: number): Promise<number>
}
