// A request whose body is refused before it was read whole (413 past ROSTER_MAX_BODY_BYTES, a
// body that is not JSON, a Content-Length the body does not match) is answered at once. Fastify
// marks that answer `Connection: close`, and Node then closes the socket as soon as the answer is
// written, while the client may still be sending the rest of its body: the client's next write
// hits a closed socket (EPIPE or ECONNRESET) and most HTTP clients (fetch, Java's, .NET's) report
// that error instead of the 413 the server sent. An identity provider then logs a network error
// and retries the same oversized request, where it should have shown the administrator why it
// was refused.
//
// Servers that face this keep reading what the client still sends and discard it before they
// close ("lingering close": RFC 9112 §9.6, and nginx's lingering_close). Here the rest of the body
// is read and discarded, up to a bound, and the connection stays open for the client's next
// request; a client that sends more than the bound is cut off (then the answer may be lost, but
// only to a client sending far past what the server accepts). Node's request timeout
// (ROSTER_REQUEST_TIMEOUT_MS) still bounds how long the body may take.
import type { FastifyInstance } from 'fastify'

/** How much of a refused body is read and discarded before the connection is closed. */
export function drainBound(maxBodyBytes: number): number {
  return Math.max(8 * 1024 * 1024, 4 * maxBodyBytes)
}

export function drainRefusedBodies(app: FastifyInstance, maxBodyBytes: number): void {
  const bound = drainBound(maxBodyBytes)
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw
    // A body read whole (every answer but a refused body's) or a server draining before it
    // stops (health.ts closes each connection on purpose): nothing to do.
    if (raw.complete || raw.destroyed || app.draining || reply.getHeader('connection') !== 'close') return done(null, payload)
    const declared = Number(raw.headers['content-length'])
    if (Number.isFinite(declared) && declared > bound) return done(null, payload)
    void reply.removeHeader('connection')
    let discarded = 0
    raw.on('data', (chunk: Buffer) => {
      discarded += chunk.length
      if (discarded > bound) raw.socket?.destroy()
    })
    raw.resume()
    done(null, payload)
  })
}
