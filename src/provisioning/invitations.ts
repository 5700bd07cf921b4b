// Invitation use cases of the vendor API (docs/api.md, "Invitations"): the application accepts
// an invitation with the token from its email's link, which makes the pending user active; it
// reads a user's latest invitation, sends a new one (the open one is revoked, so only the newest
// link works), or revokes it. Sending is the mailer's (mail/mailer.ts), never a request's.
import { apiUser } from '../directory/shape.ts'
import { userEvent } from '../events/build.ts'
import { hashInvitationToken, isWellFormedInvitationToken } from '../orgs/invitation-tokens.ts'
import type { InvitationRow, InvitationStatus } from '../store/invitation-store.ts'
import type { OrgId, ResourceId, UserRow } from '../store/store.ts'
import type { Deps } from './deps.ts'
import { eventContext } from './users.ts'

export type InvitationErrorCode =
  /** No usable invitation has this token: unknown, another organization's, accepted, revoked or not sent. */
  | 'invitation_not_found'
  /** The invitation's days are over. */
  | 'invitation_expired'
  /** No such user in the organization. */
  | 'user_not_found'
  /** The user has no (open) invitation. */
  | 'no_invitation'
  /** The user is not pending (it accepted, was created active, or is deactivated). */
  | 'user_not_pending'
  /** The identity provider deactivated the user (or deleted it, kept under `deprovision: suspend`): its invitation cannot be accepted now. */
  | 'user_suspended'

export class InvitationError extends Error {
  constructor(readonly code: InvitationErrorCode, message: string) {
    super(message)
    this.name = 'InvitationError'
  }
}

/** An invitation as the API shows it: never its token or the token's hash. */
export type PublicInvitation = Omit<InvitationRow, 'orgId' | 'nextAttemptMs' | 'tokenHash' | 'firstFailureMs'> & { readonly nextAttemptAt: string | null }

export function publicInvitation(r: InvitationRow): PublicInvitation {
  return {
    id: r.id, userId: r.userId, status: r.status, email: r.email, createdAt: r.createdAt, sentAt: r.sentAt, expiresAt: r.expiresAt, endedAt: r.endedAt,
    attempts: r.attempts, nextAttemptAt: r.status === 'queued' ? new Date(r.nextAttemptMs).toISOString() : null, lastError: r.lastError,
  }
}

const UNKNOWN = 'No invitation has this token (check that the whole link was used; a resent invitation replaces the earlier email\'s link)'

function unusable(status: InvitationStatus): string {
  switch (status) {
    case 'accepted': return 'This invitation was accepted already: its token works once'
    case 'revoked': return 'This invitation was revoked (or replaced by a newer one: use the newest email\'s link)'
    default: return UNKNOWN
  }
}

/**
 * POST /api/v1/invitations/accept: in one transaction the invitation (sent and unexpired)
 * becomes accepted, the user leaves `pending` at a new version, and `user.invitation_accepted`
 * is written. `keyOrgId` is the API key's organization (null: the operator's, any organization);
 * another organization's invitation is unknown to it. Returns the user as it is now: active.
 *
 * A user the identity provider deactivated (or deleted, kept under `deprovision: suspend`) cannot
 * accept: accepting would hand the application a user its identity provider turned off. The
 * invitation stays as it was, so its link works again once the identity provider reactivates the
 * user, until it expires.
 */
export async function acceptInvitation(deps: Deps, token: string, keyOrgId: OrgId | null): Promise<{ orgId: OrgId; user: UserRow }> {
  if (!isWellFormedInvitationToken(token)) throw new InvitationError('invitation_not_found', UNKNOWN)
  const hash = hashInvitationToken(token)
  const now = deps.now().toISOString()
  return deps.store.write(async (tx) => {
    // An organization's key looks in its organization only: another's invitation is never read for it.
    const inv = await tx.invitations.byTokenHash(hash, keyOrgId)
    if (!inv || (keyOrgId !== null && inv.orgId !== keyOrgId)) throw new InvitationError('invitation_not_found', UNKNOWN)
    if (inv.status === 'expired' || (inv.status === 'sent' && inv.expiresAt !== null && inv.expiresAt <= now)) {
      throw new InvitationError('invitation_expired', `This invitation expired at ${inv.expiresAt ?? 'its end'}; ask for a new one`)
    }
    if (inv.status !== 'sent') throw new InvitationError('invitation_not_found', unusable(inv.status))
    const cur = await tx.getUserForUpdate(inv.orgId, inv.userId)
    if (!cur) {
      if (await deps.store.deletedUser(inv.orgId, inv.userId)) {
        throw new InvitationError('user_suspended', 'The identity provider deleted this user (kept for the organization\'s deprovisioning days): its invitation cannot be accepted')
      }
      throw new InvitationError('invitation_not_found', 'The invited user no longer exists')
    }
    if (apiUser(cur).state === 'suspended') {
      throw new InvitationError('user_suspended',
        'The identity provider deactivated this user: its invitation can be accepted once the identity provider reactivates it (the link works until it expires)')
    }
    await tx.invitations.accept(inv.orgId, inv.id, now)
    let after: UserRow = cur
    if (cur.directory?.pending === true) {
      await tx.setPending(inv.orgId, cur.id, false, now)
      after = { ...cur, body: cur.body, version: cur.version + 1, lastModified: now, directory: { ...cur.directory, pending: false } }
    }
    await tx.insertEvents(inv.orgId, [userEvent(eventContext(deps, inv.orgId, now, (await tx.orgs.policy(inv.orgId)).settings.attributeMapping), 'user.invitation_accepted', after, { invitation: { id: inv.id } })])
    return { orgId: inv.orgId, user: after }
  })
}

/** GET …/users/{id}/invitation: the user's newest invitation. */
export async function getInvitation(deps: Deps, orgId: OrgId, userId: ResourceId): Promise<InvitationRow> {
  const inv = await deps.store.invitations.latest(orgId, userId)
  if (inv) return inv
  if (!(await deps.store.directoryUser(orgId, 'id', userId))) throw new InvitationError('user_not_found', 'No such user')
  throw new InvitationError('no_invitation', 'The user has no invitation')
}

/**
 * POST …/users/{id}/invitation: revokes the user's open invitation (its link stops working) and
 * queues a new one, which the mailer sends with a new token. The user must be pending.
 */
export async function resendInvitation(deps: Deps, orgId: OrgId, userId: ResourceId): Promise<InvitationRow> {
  const at = deps.now()
  const now = at.toISOString()
  const id = deps.newId()
  return deps.store.write(async (tx) => {
    const cur = await tx.getUserForUpdate(orgId, userId)
    if (!cur) throw new InvitationError('user_not_found', 'No such user')
    const shape = apiUser(cur)
    if (shape.state !== 'pending') {
      throw new InvitationError('user_not_pending', `The user is ${shape.state}, not pending: ${shape.state === 'suspended' ? 'reactivate it first' : 'it has nothing to accept'}`)
    }
    await tx.invitations.revokeOpen(orgId, userId, now)
    await tx.invitations.queue(orgId, { id, userId, now, nowMs: at.getTime() })
    return {
      orgId, id, userId, status: 'queued', email: null, createdAt: now, sentAt: null, expiresAt: null, endedAt: null, attempts: 0,
      nextAttemptMs: at.getTime(), lastError: null, firstFailureMs: null,
    }
  })
}

/** DELETE …/users/{id}/invitation: revokes the open invitation; the user stays pending. */
export async function revokeInvitation(deps: Deps, orgId: OrgId, userId: ResourceId): Promise<void> {
  const now = deps.now().toISOString()
  await deps.store.write(async (tx) => {
    const cur = await tx.getUserForUpdate(orgId, userId)
    if (!cur) throw new InvitationError('user_not_found', 'No such user')
    if ((await tx.invitations.revokeOpen(orgId, userId, now)) === 0) throw new InvitationError('no_invitation', 'The user has no open invitation (queued or sent)')
  })
}
