// The error answer of everything outside the SCIM and /api/v1 surfaces (which render their own:
// http/scim/errors.ts, http/api/plugin.ts): /healthz, the console's routes, unknown paths. A
// client's mistake keeps Fastify's status and message; anything from 500 up is logged with the
// request id and answered with that id only, never a message, a stack, SQL or a path
// (docs/architecture.md, Errors; OWASP ASVS 7.4.1).
import type { FastifyError, FastifyInstance } from 'fastify'

export function safeErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500) {
      request.log.error({ err, reqId: request.id }, 'unexpected error')
      return reply.code(status).send({ error: 'internal_error', message: `Internal error; request id ${request.id}` })
    }
    return reply.code(status).send({ error: err.code ?? 'bad_request', message: err.message })
  })
}
