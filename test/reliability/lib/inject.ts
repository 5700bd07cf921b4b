// `Send` over Fastify's inject: the whole HTTP pipeline of the app (routing, hooks, parsers,
// serializers, error handlers) without a socket, for suites that send thousands of requests.
import type { FastifyInstance } from 'fastify'
import type { Answer, Send } from './isolation.ts'

export function injectSender(app: FastifyInstance): Send {
  return async (method, url, token, body, headers = {}): Promise<Answer> => {
    const r = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': url.startsWith('/scim/') ? 'application/scim+json' : 'application/json' }), ...headers },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: r.statusCode, text: r.body, headers: r.headers }
  }
}
