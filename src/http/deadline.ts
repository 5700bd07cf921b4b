// Request deadlines (docs/security.md, "Request deadlines"). The server's request timeout only
// bounds how long a request may take to arrive; this bounds how long it may take to answer. At
// its deadline a request that has not been answered is answered 503 with Retry-After (through the
// surface's error renderer: StoreUnavailable), and its work is abandoned: a write not yet begun
// is dropped, one past the deadline rolls back, a read still running is stopped
// (store/deadline.ts). A write whose commit has begun is waited for instead, so that nobody is
// told 503 about a change that then commits. A client that goes away abandons its request too.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../provisioning/deps.ts'
import { DeadlineExceeded, type Deadline } from '../store/deadline.ts'
import type { Store } from '../store/store.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** When this request's time is up (null outside surfaces with deadlines). */
    deadline: Deadline | null
    deadlineTimer: NodeJS.Timeout | null
    /** The surface's deadline length (postponeDeadline restarts it). */
    deadlineMs: number
  }
}

function arm(request: FastifyRequest, reply: FastifyReply, deadline: Deadline, ms: number): void {
  request.deadline = deadline
  // Node keeps timers of one duration in one list: adding and clearing one is constant time.
  request.deadlineTimer = setTimeout(() => {
    // A streamed answer (a large group's members, http/scim/group-stream.ts) that has begun is
    // its 200 under way, not a hang: its headers are out, and it ends with its last page.
    if (reply.sent || reply.raw.headersSent || deadline.committing) return
    deadline.abandoned = true
    void reply.send(new DeadlineExceeded())
  }, ms)
}

/** Gives every request of `app`'s scope a deadline `ms` after its arrival. */
export function requestDeadlines(app: FastifyInstance, ms: number): void {
  app.decorateRequest('deadline', null)
  app.decorateRequest('deadlineTimer', null)
  app.decorateRequest('deadlineMs', 0)
  app.addHook('onRequest', (request, reply, done) => {
    request.deadlineMs = ms
    arm(request, reply, { atMs: Date.now() + ms, committing: false, abandoned: false }, ms)
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
}

/** A request whose client went away (http/client-gone.ts): its work is abandoned unless its commit has begun. */
export function abandonDeadline(request: FastifyRequest): void {
  // Outside the surfaces with deadlines (health, the console's files) neither is decorated.
  if (request.deadlineTimer) clearTimeout(request.deadlineTimer)
  const deadline = request.deadline
  if (deadline && !deadline.committing) deadline.abandoned = true
}

/**
 * A long-poll's wait is no work: its deadline starts again when the wait ends at `untilMs`, so
 * that the reads after it have the surface's whole deadline (GET /api/v1/orgs/{org}/events?wait=).
 */
export function postponeDeadline(request: FastifyRequest, reply: FastifyReply, untilMs: number): void {
  const old = request.deadline
  if (!old || !request.deadlineTimer || old.abandoned) return
  clearTimeout(request.deadlineTimer)
  const atMs = Math.max(old.atMs, untilMs + request.deadlineMs)
  arm(request, reply, { atMs, committing: false, abandoned: false }, atMs - Date.now())
}

/**
 * `deps` for one request of a surface whose routes are registered with the app's deps (/api/v1):
 * its use cases see the request's deadline, and every store write without one of its own takes it
 * (store/deadline.ts: a write not begun by then is dropped, one past it rolls back). Not an
 * AsyncLocalStorage: on Node 20 one turns on promise hooks for the whole process, which slows
 * every await of every request.
 */
export function requestDeps(deps: Deps, request: FastifyRequest): Deps {
  const deadline = request.deadline
  if (!deadline) return deps
  const store = new Proxy(deps.store, {
    get(target, prop) {
      if (prop === 'write') return ((fn, own) => target.write(fn, own ?? deadline)) as Store['write']
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
  return { ...deps, store, deadline }
}
