// Bearer-token authentication of the SCIM surface (RFC 7644 §2): the token resolves exactly one
// organization. A missing, malformed, unknown or revoked token is 401 with a SCIM body and
// WWW-Authenticate (RFC 6750 §3); a token in the query string or a cookie is never read
// (ASVS 3.1.1, RELIABILITY.md AUTH-4).
import type { FastifyRequest } from 'fastify'
import { hashToken, isWellFormedToken } from '../../orgs/tokens.ts'
import { ScimError } from '../../scim/errors.ts'
import type { OrgId, Store } from '../../store/store.ts'

const CHALLENGE = 'Bearer realm="roster-scim"'

function unauthorized(detail: string, error: 'invalid_request' | 'invalid_token'): ScimError {
  return new ScimError(401, null, detail, { 'www-authenticate': `${CHALLENGE}, error="${error}"` })
}

export async function authenticate(store: Store, request: FastifyRequest): Promise<OrgId> {
  const header = request.headers.authorization
  if (header === undefined) throw new ScimError(401, null, 'Authorization header with a Bearer token is required', { 'www-authenticate': CHALLENGE })
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  if (!m?.[1]) throw unauthorized('Authorization must be "Bearer <token>"', 'invalid_request')
  const token = m[1]
  if (!isWellFormedToken(token)) throw unauthorized('The token is not valid', 'invalid_token')
  const orgId = await store.orgByTokenHash(hashToken(token))
  if (orgId === null) throw unauthorized('The token is not valid', 'invalid_token')
  return orgId
}
