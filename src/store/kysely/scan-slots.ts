// At most `perOrg` scanning reads of one organization at a time (list counts and pages that run
// on the read workers or the PostgreSQL pool). Without it one organization sending many costly
// filters at once takes every read worker or pooled connection, and every other organization's
// reads wait behind its scans (docs/security.md, "Request deadlines"). A read over the limit waits
// its turn, first come first served, until its request's deadline (then 503, store/deadline.ts).
import { DeadlineExceeded, type Deadline } from '../deadline.ts'

interface Waiter {
  readonly go: () => void
  readonly timer: NodeJS.Timeout | null
}

interface Org {
  active: number
  readonly queue: Waiter[]
}

export class ScanSlots {
  readonly #perOrg: number
  readonly #orgs = new Map<string, Org>()

  constructor(perOrg: number) {
    this.#perOrg = perOrg
  }

  async run<T>(orgId: string, deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
    let org = this.#orgs.get(orgId)
    if (org === undefined) {
      org = { active: 0, queue: [] }
      this.#orgs.set(orgId, org)
    }
    if (org.active >= this.#perOrg) await this.#wait(org, deadline)
    else org.active++
    try {
      return await fn()
    } finally {
      this.#release(orgId, org)
    }
  }

  #wait(org: Org, deadline: Deadline | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        go: () => {
          if (waiter.timer !== null) clearTimeout(waiter.timer)
          resolve()
        },
        timer: deadline === undefined ? null : setTimeout(() => {
          const i = org.queue.indexOf(waiter)
          if (i >= 0) org.queue.splice(i, 1)
          reject(new DeadlineExceeded())
        }, Math.max(0, deadline.atMs - Date.now())),
      }
      org.queue.push(waiter)
    })
  }

  /** Hands the slot to the next waiter (it stays taken), or frees it. */
  #release(orgId: string, org: Org): void {
    const next = org.queue.shift()
    if (next !== undefined) {
      next.go()
      return
    }
    org.active--
    if (org.active === 0) this.#orgs.delete(orgId)
  }
}
