// Bearer-token authentication of the SCIM surface (RFC 7644 §2): the token resolves exactly one
// organization. A missing, malformed, unknown or revoked token is 401 with a SCIM body and
// WWW-Authenticate (RFC 6750 §3); a token in the query string or a cookie is never read
// (ASVS 3.1.1, docs/architecture.md AUTH-4).
import type { FastifyRequest } from 'fastify'
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
 * The token's organization, with the version of its declared schemas and the token's hash (its
 * rate-limit key); `onRevoked` learns the organization of a revoked token (its 401 is logged
 * there), `onUsed` the hash of a token that authenticated (the console's "last used").
 */
export async function authenticate(
  store: Store, request: FastifyRequest, onRevoked?: (orgId: OrgId) => void, onUsed?: (hash: string) => Promise<void>,
): Promise<{ orgId: OrgId; schemaVersion: number; tokenHash: string }> {
  const header = request.headers.authorization
  if (header === undefined) throw new ScimError(401, null, 'Authorization header with a Bearer token is required', { 'www-authenticate': CHALLENGE })
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (!m?.[1]) throw unauthorized('Authorization must be "Bearer <token>"', 'invalid_request')
  const token = m[1]
  if (!isWellFormedToken(token)) throw unauthorized('The token is not valid', 'invalid_token')
  const hash = hashToken(token)
  const org = await store.tokenOrg(hash)
  if (org === null) {
    if (onRevoked) {
      const revoked = await store.orgOfRevokedToken(hash)
      if (revoked !== null) onRevoked(revoked)
    }
    throw invalidToken()
  }
  if (onUsed) await onUsed(hash)
  return { ...org, tokenHash: hash }
}
