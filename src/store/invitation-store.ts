// What invitations need from the store (migration 0008; docs/events.md, "Invitations"). The
// queue is the event outbox itself: a SCIM create writes only its `user.created` event, and the
// mailer reads the feed across every organization from its cursor in `worker_cursors`, turning
// each pending user's creation into a queued invitation (fanOut). Queued invitations are claimed
// under a lease that expires (so a killed mailer stalls nothing) and armed with their token's
// hash before the email goes out; what happened to each send is recorded inside a write
// transaction (InvitationTx), beside the event it writes.
import type { OrgId, ResourceId, UserRow } from './store.ts'

/** queued → sent → accepted; or expired, revoked, failed (an address the mail server refuses). */
export type InvitationStatus = 'queued' | 'sent' | 'accepted' | 'expired' | 'revoked' | 'failed'

export interface InvitationRow {
  readonly orgId: OrgId
  readonly id: string
  readonly userId: ResourceId
  readonly status: InvitationStatus
  /** The address of the last attempt; null before the first. */
  readonly email: string | null
  readonly createdAt: string
  readonly sentAt: string | null
  /** Set when the token is made, just before a send; the token stops working then. */
  readonly expiresAt: string | null
  /** When it was accepted, revoked, expired or given up. */
  readonly endedAt: string | null
  /** Sends tried (the successful one included). */
  readonly attempts: number
  /** Epoch ms of the next send while queued. */
  readonly nextAttemptMs: number
  readonly lastError: string | null
  /** Epoch ms of the first failed send, null until one fails: transient failures are retried for three days from it. */
  readonly firstFailureMs: number | null
}

/** An event row of the feed as the mailer reads it (every organization, in position order). */
export interface FeedRef {
  readonly position: number
  readonly orgId: OrgId
  readonly type: string
  readonly resourceId: string
  /** The `data.state` of the event's payload. */
  readonly state: string | null
}

export interface FanOut {
  /** The position to read after; null: the stored cursor. */
  readonly after: number | null
  readonly limit: number
  /**
   * The event types `pick` is shown, with their `data.state` (read by the database, the payload
   * never parsed here); the page's other events are passed over without leaving it.
   */
  readonly types: readonly string[]
  /** The user an event asks to invite, or null. */
  readonly pick: (e: FeedRef) => ResourceId | null
  /** Store the cursor even when no event asked for an invitation. */
  readonly persist: boolean
  readonly newId: () => string
  readonly now: string
  readonly nowMs: number
}

export interface FanOutResult {
  /** The position read up to (stored, unless nothing was written). */
  readonly cursor: number
  /** Events the page passed over (of every type). */
  readonly read: number
  /** Invitations queued. */
  readonly queued: number
  /** Whether the stored cursor is `cursor`. */
  readonly stored: boolean
}

/** A queued invitation claimed for sending, with what its email needs. */
export interface ClaimedInvitation {
  readonly invitation: InvitationRow
  readonly orgName: string
  /** With its directory columns; null when the user was deleted. */
  readonly user: UserRow | null
}

/** What the mailer makes of a claimed invitation, decided inside the claim's transaction. */
export type ArmDecision =
  /** The token's hash and expiry are stored before the email goes out. */
  | { readonly kind: 'send'; readonly tokenHash: string; readonly expiresAt: string; readonly email: string }
  /** Nothing to send (the user is gone or no longer pending; no address): ended now. */
  | { readonly kind: 'end'; readonly status: 'revoked' | 'failed'; readonly reason: string }

export interface ArmedInvitation extends ClaimedInvitation {
  readonly tokenHash: string
  readonly expiresAt: string
  readonly email: string
}

export interface Claim {
  readonly nowMs: number
  readonly now: string
  readonly leaseMs: number
  readonly limit: number
  /**
   * Most invitation emails one organization may send in any hour (0: no cap): counted in the
   * store, by the sent time of its invitations within the hour before `nowMs` and those claimed
   * and still being sent, so that every mailer on the database shares it.
   */
  readonly perOrgPerHour: number
  readonly arm: (c: ClaimedInvitation) => ArmDecision
}

export interface InvitationStore {
  /**
   * Reads the feed after `after` (or the stored cursor) and queues an invitation for each user
   * `pick` names that still exists, is still pending and has no open (queued or sent) invitation;
   * the cursor moves in the same transaction (on PostgreSQL its row is held, so two mailers never
   * fan out the same events). With nothing to queue and `persist` false, it writes nothing.
   */
  fanOut(o: FanOut): Promise<FanOutResult>
  /** Whether a queued invitation is due and not leased (a read). */
  hasDue(nowMs: number): Promise<boolean>
  /**
   * Leases up to `limit` due queued invitations until `nowMs + leaseMs` (SKIP LOCKED on
   * PostgreSQL) and arms each as `arm` decides, in one transaction; returns those to send. With
   * `perOrgPerHour`, an organization at its cap has none claimed, and its queued invitations stay
   * queued, due when the hour's window has room again; other organizations' are claimed as usual.
   */
  claim(c: Claim): Promise<readonly ArmedInvitation[]>
  /** Sent invitations whose expiry has passed (`now`, ISO 8601), oldest first. */
  dueExpiries(now: string, limit: number): Promise<readonly InvitationRow[]>
  /** The user's newest invitation. */
  latest(orgId: OrgId, userId: ResourceId): Promise<InvitationRow | null>
}

/** Invitations inside a write transaction (StoreTx.invitations); rows read here are held for update. */
export interface InvitationTx {
  /** The invitation with this token hash in `orgId`; null: in any organization (an operator key's accept). */
  byTokenHash(hash: string, orgId: OrgId | null): Promise<InvitationRow | null>
  latest(orgId: OrgId, userId: ResourceId): Promise<InvitationRow | null>
  /** A new invitation, due now. */
  queue(orgId: OrgId, inv: { readonly id: string; readonly userId: ResourceId; readonly now: string; readonly nowMs: number }): Promise<void>
  /** Revokes the user's open (queued or sent) invitations; returns how many. */
  revokeOpen(orgId: OrgId, userId: ResourceId, now: string): Promise<number>
  /** sent → accepted; false when it is not `sent`. */
  accept(orgId: OrgId, id: string, now: string): Promise<boolean>
  /** sent → expired; false when it is not `sent`. */
  expire(orgId: OrgId, id: string, now: string): Promise<boolean>
  /**
   * The outcome of a send armed with `tokenHash`; each is false (and changes nothing) when the
   * invitation is no longer queued with that token (revoked meanwhile, or re-armed by another
   * mailer after this one's lease ended).
   */
  markSent(orgId: OrgId, id: string, tokenHash: string, now: string): Promise<boolean>
  /** Queued again for `nextAttemptMs`; the first failure's time (`failedAtMs`) is kept if one is already recorded. */
  markRetry(orgId: OrgId, id: string, tokenHash: string, nextAttemptMs: number, error: string, failedAtMs: number): Promise<boolean>
  markFailed(orgId: OrgId, id: string, tokenHash: string, now: string, error: string): Promise<boolean>
}
