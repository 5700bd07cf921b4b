// The one error renderer of the SCIM surface: a ScimError is rendered as it is; framework
// errors (bad JSON, oversized body, wrong media type) become their SCIM equivalents; an
// unavailable store is 503 with Retry-After; anything else is a bug, logged with the request id
// and answered 500 with only that id (docs/architecture.md, Errors).
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ScimError } from '../../scim/errors.ts'
import { OrgGone, StoreUnavailable } from '../../store/store.ts'
import { invalidToken } from './auth.ts'

// RFC 7644 §8.1 registers application/scim+json with no parameters, and some clients compare the
// header exactly; JSON is UTF-8 whatever is said (RFC 8259 §8.1). Fastify appends a charset to
// every JSON media type it sends, so the SCIM plugin's onSend hook takes it off again.
export const SCIM_CONTENT_TYPE = 'application/scim+json'
export const RETRY_AFTER_SECONDS = 5

export function toScimError(err: unknown, reqId: string): { error: ScimError; bug: boolean } {
  if (err instanceof ScimError) return { error: err, bug: false }
  // The organization and its tokens were deleted while this request was on its way: what the
  // next request with its token gets (auth.ts), RFC 6750 §3.1 invalid_token.
  if (err instanceof OrgGone) return { error: invalidToken(), bug: false }
  if (err instanceof StoreUnavailable) {
    return { error: new ScimError(503, null, 'The directory is temporarily unavailable; retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) }), bug: false }
  }
  const fe = err as Partial<FastifyError>
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // For POST /Bulk this is its maxPayloadSize (RFC 7644 §3.7.4, /ServiceProviderConfig).
      return { error: new ScimError(413, 'tooMany', 'The request body is larger than the server accepts (maxPayloadSize in /ServiceProviderConfig); send it in parts'), bug: false }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new ScimError(415, null, 'Send application/scim+json or application/json'), bug: false }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { error: new ScimError(400, 'invalidSyntax', 'Content-Length does not match the body'), bug: false }
  }
  if (fe.statusCode === 400 || err instanceof SyntaxError) {
    return { error: new ScimError(400, 'invalidSyntax', 'The request body is not valid JSON'), bug: false }
  }
  if (fe.code === 'FST_ERR_REQ_TIMEOUT' || fe.statusCode === 408) {
    return { error: new ScimError(503, null, 'The request took too long; retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) }), bug: false }
  }
  return { error: new ScimError(500, null, `Internal error; request id ${reqId}`), bug: true }
}

export function sendScimError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { error, bug } = toScimError(err, request.id)
  // A write whose organization was deleted meanwhile: there is no organization left to log it under
  // (request-log.ts), as for a token that resolves none.
  if (err instanceof OrgGone) request.orgId = null
  // The provisioning log records the scimType and detail the client was given.
  if (request.requestLog) request.requestLog.error = error
  if (bug) request.log.error({ err, reqId: request.id }, 'unexpected error')
  for (const [k, v] of Object.entries(error.headers)) void reply.header(k, v)
  return reply.code(error.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(error.toBody()))
}
