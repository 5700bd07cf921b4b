// One structured line per answered request (pino, through fastify's logger), at level info:
// its request id (reqId), organization, identity provider, route template, method, path
// (without the query string, which may hold a filter's values), status and duration. Headers
// and bodies are never logged, so a token, password or secret cannot reach the log; the
// logger's redact paths (REDACT) cover any object logged elsewhere that would hold one.
// LOG_LEVEL=warn (or ROSTER_REQUEST_LOG=0) turns the lines off.
import type { FastifyInstance, FastifyRequest } from 'fastify'

export const REDACT = {
  paths: [
    'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
    'token', 'password', 'secret', 'key', '*.token', '*.password', '*.secret', '*.key',
  ],
  censor: '[redacted]',
}

type Seen = FastifyRequest & { scimTrace?: { identityProvider: string } | null; orgId?: string | null; apiKey?: { orgId: string | null; id: string } | null }

export function accessLog(app: FastifyInstance): void {
  // The level is fixed at start: below info, no hook at all.
  // (Without a logger, `logger: false`, app.log has no isLevelEnabled: nothing is logged either.)
  const enabled = (app.log as unknown as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  if (typeof enabled !== 'function' || !enabled.call(app.log, 'info')) return
  app.addHook('onResponse', (request, reply, done) => {
    const r = request as Seen
    const q = request.url.indexOf('?')
    request.log.info({
      orgId: r.orgId ?? r.apiKey?.orgId ?? (request.params as { org?: string } | undefined)?.org,
      apiKeyId: r.apiKey?.id,
      identityProvider: r.scimTrace?.identityProvider,
      method: request.method,
      route: request.routeOptions.url ?? null,
      path: q === -1 ? request.url : request.url.slice(0, q),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    }, 'request')
    done()
  })
}
