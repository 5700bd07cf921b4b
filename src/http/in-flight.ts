// How much of the time requests were in flight: the mailer's sign of a burst (mail/mailer.ts).
// The event loop's utilization alone no longer says it: while a batch's fsync is on its way to
// the disk (store/dialect/sqlite-wal-sync.ts), a saturated server's loop waits, idle.
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** Counted in flight and not yet let go. */
    inFlight: boolean
  }
}

export class RequestLoad {
  #inFlight = 0
  /** When the current stretch with requests in flight began. */
  #busySince = 0
  /** Busy time in closed stretches since the last look. */
  #busyMs = 0
  #lookedAt = performance.now()

  start(): void {
    if (this.#inFlight++ === 0) this.#busySince = performance.now()
  }

  end(): void {
    if (this.#inFlight > 0 && --this.#inFlight === 0) this.#busyMs += performance.now() - this.#busySince
  }

  /** The share (0–1) of the time since the last call during which a request was in flight. */
  busyShare(): number {
    const now = performance.now()
    let busy = this.#busyMs
    if (this.#inFlight > 0) {
      busy += now - this.#busySince
      this.#busySince = now
    }
    const span = now - this.#lookedAt
    this.#lookedAt = now
    this.#busyMs = 0
    return span > 0 ? Math.min(1, busy / span) : 0
  }
}

/**
 * Counts every request of `app` in `load`, from its arrival to its answer or its abandonment;
 * returns what lets go of a request whose client went away (http/client-gone.ts).
 */
export function countInFlight(app: FastifyInstance, load: RequestLoad): (request: { inFlight: boolean }) => void {
  app.decorateRequest('inFlight', false)
  app.addHook('onRequest', (request, _reply, done) => {
    request.inFlight = true
    load.start()
    done()
  })
  const release = (request: { inFlight: boolean }) => {
    if (!request.inFlight) return
    request.inFlight = false
    load.end()
  }
  app.addHook('onResponse', (request, _reply, done) => {
    release(request)
    done()
  })
  return release
}
