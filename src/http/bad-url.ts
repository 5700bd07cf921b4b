// Request paths the router cannot read: a percent-encoded sequence that is not UTF-8
// (`/scim/v2/Users/%C0%AF`, `%FF`; RFC 3986 §2.5 reads percent-encoded octets as UTF-8), or a
// path segment longer than the router's limit. Fastify answers these before any route or hook
// with a body of its own; here (its `frameworkErrors` option) each surface answers in its own
// error format instead: a SCIM error with the SCIM media type under /scim/v2 (RFC 7644 §3.12),
// the /api/v1 error elsewhere under /api/v1, and the plain JSON error of safe-errors.ts outside.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ScimError } from '../scim/errors.ts'
import { SCIM_CONTENT_TYPE } from './scim/errors.ts'

const SCIM = /^\/scim\/v2(?:[/?]|$)/i
const API = /^\/api\/v1(?:[/?]|$)/i

export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
  const status = tooLong ? 414 : 400
  const message = tooLong
    ? 'A segment of the request path is longer than the server reads (200 characters)'
    : 'The request path holds a percent-encoded sequence that is not UTF-8 (RFC 3986 §2.5)'
  const url = request.raw.url ?? ''
  if (SCIM.test(url)) {
    // Outside the SCIM plugin, whose onSend hook takes Fastify's `; charset=utf-8` off again
    // (scim/errors.ts): a Buffer is sent with the media type as it is set.
    const error = new ScimError(status, tooLong ? null : 'invalidValue', message)
    void reply.code(status).header('content-type', SCIM_CONTENT_TYPE).send(Buffer.from(JSON.stringify(error.toBody())))
    return
  }
  void reply.code(status).type('application/json; charset=utf-8').send({ error: API.test(url) ? 'bad_request' : err.code, message })
}
