// Invitation tokens: the secret in an invitation email's link. Like SCIM tokens and API keys
// (orgs/tokens.ts), 256 random bits behind a recognisable prefix, stored only as a SHA-256 hash;
// a token is used once (accepting ends its invitation) and expires with it.
import { randomBytes } from 'node:crypto'
import { hashToken } from './tokens.ts'

export const INVITATION_TOKEN_PREFIX = 'roster_inv_'
const INVITATION_TOKEN_PATTERN = /^roster_inv_[A-Za-z0-9_-]{43}$/

export function hashInvitationToken(token: string): string {
  return hashToken(token)
}

export function generateInvitationToken(): { readonly token: string; readonly hash: string } {
  const token = INVITATION_TOKEN_PREFIX + randomBytes(32).toString('base64url')
  return { token, hash: hashInvitationToken(token) }
}

/** True when `token` has the shape of an invitation token; anything else is refused without a lookup. */
export function isWellFormedInvitationToken(token: string): boolean {
  return INVITATION_TOKEN_PATTERN.test(token)
}
