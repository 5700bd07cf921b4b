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
// request. A client that sends more than the bound (or declares it) gets its answer and then a
// staged close: the server closes its side and drops what still arrives for a few seconds, so
// that the answer is not lost to a reset. Node's request timeout (ROSTER_REQUEST_TIMEOUT_MS)
// still bounds how long the body may take.
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** How much of a refused body is read and discarded before the connection is closed. */
export function drainBound(maxBodyBytes: number): number {
  return Math.max(8 * 1024 * 1024, 4 * maxBodyBytes)
}

/** A closing connection still reads (and drops) what arrives for this long at most… */
export const LINGER_MS = 5_000
/** …and stops early when nothing arrived for this long (nginx's lingering_time and lingering_timeout). */
export const LINGER_IDLE_MS = 1_000

/**
 * Closes `socket` in stages (RFC 9112 §9.6): its answer goes out, then its sending side is
 * closed (FIN), and what the client still sends is read and dropped until the client closes, is
 * quiet for LINGER_IDLE_MS, or LINGER_MS have passed. Destroyed at once instead, a socket with
 * unread bytes makes the kernel send a reset, and a reset that reaches the client before it read
 * the answer discards the answer: the 413 a client sending far past the limit must see.
 */
function lingerThenDestroy(socket: Socket): void {
  if (socket.destroyed) return
  let idle: NodeJS.Timeout | undefined
  const stop = () => {
    clearTimeout(idle)
    clearTimeout(total)
    socket.destroy()
  }
  const total = setTimeout(stop, LINGER_MS)
  const quiet = () => {
    clearTimeout(idle)
    idle = setTimeout(stop, LINGER_IDLE_MS)
  }
  socket.on('data', quiet)
  socket.once('end', stop)
  socket.once('close', () => {
    clearTimeout(idle)
    clearTimeout(total)
  })
  quiet()
  socket.end()
  socket.resume()
}

export function drainRefusedBodies(app: FastifyInstance, maxBodyBytes: number): void {
  const bound = drainBound(maxBodyBytes)
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw
    // A body read whole (every answer but a refused body's) or a server draining before it
    // stops (health.ts closes each connection on purpose): nothing to do.
    if (raw.complete || raw.destroyed || app.draining || reply.getHeader('connection') !== 'close') return done(null, payload)
    const socket = raw.socket as Socket | null
    const declared = Number(raw.headers['content-length'])
    if (Number.isFinite(declared) && declared > bound) {
      // Answered with Connection: close; when the answer is written Node closes the socket with
      // destroySoon, which is this connection's staged close instead.
      if (socket) socket.destroySoon = () => lingerThenDestroy(socket)
      return done(null, payload)
    }
    void reply.removeHeader('connection')
    let discarded = 0
    raw.on('data', (chunk: Buffer) => {
      discarded += chunk.length
      if (discarded > bound && socket && !socket.writableEnded) lingerThenDestroy(socket)
    })
    raw.resume()
    done(null, payload)
  })
}
