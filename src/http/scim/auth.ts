// Bearer-token authentication of the SCIM surface (RFC 7644 §2): the token resolves exactly one
// organization. A missing, malformed, unknown or revoked token is 401 with a SCIM body and
// WWW-Authenticate (RFC 6750 §3); a token in the query string or a cookie is never read
// (ASVS 3.1.1, docs/architecture.md AUTH-4). A source address with too many failures is refused
// 429 before its token is read (http/auth-failures.ts).
import type { FastifyRequest } from 'fastify'
import { sourceKey, tooManyFailuresMessage, type AuthFailureLimiter } from '../auth-failures.ts'
import { hashToken, isWellFormedToken } from '../../orgs/tokens.ts'
import { ScimError } from '../../scim/errors.ts'
import type { OrgId, Store } from '../../store/store.ts'

const CHALLENGE = 'Bearer realm="roster-scim"'

function unauthorized(detail: string, error: 'invalid_request' | 'invalid_token'): ScimError {
  return new ScimError(401, null, detail, { 'www-authenticate': `${CHALLENGE}, error="${error}"` })
}

/** The answer to a token that is unknown, revoked, or whose organization is gone (RFC 6750 §3.1). */
export function invalidToken(): ScimError {
  return unauthorized('The token is not valid', 'invalid_token')
}

/**
 * The 429 of a source past its failed authentications (RFC 6585 §4): a SCIM error without a
 * scimType (RFC 7644 §3.12 has none for it).
 */
export function tooManyFailures(retryAfterSeconds: number): ScimError {
  return new ScimError(429, null, tooManyFailuresMessage(retryAfterSeconds), { 'retry-after': String(retryAfterSeconds) })
}

export interface AuthHooks {
  /** Learns the organization of a revoked token (its 401 is logged there). */
  readonly onRevoked?: (orgId: OrgId) => void
  /** Learns the hash of a token that authenticated (the console's "last used"). */
  readonly onUsed?: (hash: string) => Promise<void>
  /** Failed authentications per source address (none counted when absent). */
  readonly failures?: AuthFailureLimiter
}

/**
 * The token's organization, with the version of its declared schemas and the token's hash (its
 * rate-limit key). A malformed or unknown token counts as a failure of the request's source; a
 * revoked one does not (it was issued, not guessed, and identity providers keep sending theirs
 * after a revocation, from addresses other organizations' provisioning shares).
 */
export async function authenticate(
  store: Store, request: FastifyRequest, hooks: AuthHooks = {},
): Promise<{ orgId: OrgId; schemaVersion: number; tokenHash: string }> {
  const { onRevoked, onUsed, failures } = hooks
  const source = sourceKey(request.ip)
  const wait = failures?.refused(source) ?? null
  if (wait !== null) throw tooManyFailures(wait)
  const header = request.headers.authorization
  if (header === undefined) throw new ScimError(401, null, 'Authorization header with a Bearer token is required', { 'www-authenticate': CHALLENGE })
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (!m?.[1]) throw unauthorized('Authorization must be "Bearer <token>"', 'invalid_request')
  const token = m[1]
  if (!isWellFormedToken(token)) {
    failures?.failed(source)
    throw unauthorized('The token is not valid', 'invalid_token')
  }
  const hash = hashToken(token)
  const org = await store.tokenOrg(hash)
  if (org === null) {
    const revoked = await store.orgOfRevokedToken(hash)
    if (revoked === null) failures?.failed(source)
    else onRevoked?.(revoked)
    throw invalidToken()
  }
  if (onUsed) await onUsed(hash)
  return { ...org, tokenHash: hash }
}
