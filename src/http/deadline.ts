// Request deadlines (docs/security.md, "Request deadlines"). The server's request timeout only
// bounds how long a request may take to arrive; this bounds how long it may take to answer. At
// its deadline a request that has not been answered is answered 503 with Retry-After (through the
// surface's error renderer: StoreUnavailable), and its work is abandoned: a write not yet begun
// is dropped, one past the deadline rolls back, a read still running is stopped
// (store/deadline.ts). A write whose commit has begun is waited for instead, so that nobody is
// told 503 about a change that then commits. A client that goes away abandons its request too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { DeadlineExceeded, type Deadline } from '../store/deadline.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** When this request's time is up (null outside surfaces with deadlines). */
    deadline: Deadline | null
    deadlineTimer: NodeJS.Timeout | null
  }
}

/** Gives every request of `app`'s scope a deadline `ms` after its arrival. */
export function requestDeadlines(app: FastifyInstance, ms: number): void {
  app.decorateRequest('deadline', null)
  app.decorateRequest('deadlineTimer', null)
  app.addHook('onRequest', (request, reply, done) => {
    const deadline: Deadline = { atMs: Date.now() + ms, committing: false, abandoned: false }
    request.deadline = deadline
    // Node keeps timers of one duration in one list: adding and clearing one is constant time.
    request.deadlineTimer = setTimeout(() => {
      // A streamed answer (a large group's members, http/scim/group-stream.ts) that has begun is
      // its 200 under way, not a hang: its headers are out, and it ends with its last page.
      if (reply.sent || reply.raw.headersSent || deadline.committing) return
      deadline.abandoned = true
      void reply.send(new DeadlineExceeded())
    }, ms)
    done()
  })
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.deadlineTimer !== null) clearTimeout(request.deadlineTimer)
    done()
  })
  // A handler whose work was abandoned ends in DeadlineExceeded after its 503 was sent: that is
  // the expected end, not an error to log (Fastify logs a rejection after an answer as one).
  app.addHook('onRoute', (route) => {
    const handler = route.handler
    route.handler = async function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      try {
        return await handler.call(this, request, reply)
      } catch (e) {
        if (reply.sent && request.deadline?.abandoned === true) return reply
        throw e
      }
    }
  })
  app.addHook('onRequestAbort', (request, done) => {
    if (request.deadlineTimer !== null) clearTimeout(request.deadlineTimer)
    if (request.deadline !== null && !request.deadline.committing) request.deadline.abandoned = true
    done()
  })
}
