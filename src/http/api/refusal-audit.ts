// Refused attempts at an organization's SCIM token, recorded (docs/security.md, "Refused
// attempts"; docs/architecture.md AUTH-5). OWASP ASVS 4.0.3 7.1.3 asks that security events,
// access-control failures among them, be logged, and 7.2.2 that every failed access-control
// decision be; the OWASP Logging Cheat Sheet ("Which events to log") names authorization failures
// first. Who, when, what and why:
//
// - A caller of the organization (a viewer, an API key of it without org:admin, an operator
//   key without it) is answered 403; the refusal becomes an entry in the organization's audit
//   log, which its admins read.
// - A caller of another organization (or of none) is answered 404, as if the organization did
//   not exist (http/api/access.ts). Its refusal is not written to the targeted organization's
//   audit log: that log's readers would learn who, in another organization, tried (an email, a
//   key id), and any credential of any organization could write into any organization's log.
//   It goes to the server's log instead, a line the operator (who sees every organization) reads.
//
// A refusal costs its caller nothing, so the record is bounded, or it would be a way to fill the
// database: one entry per caller, organization and action a minute, whose `count` (with
// `firstAt` and `lastAt`) grows with each refusal of that minute. Its writes are coalesced: at
// most one in flight per entry, the next carrying every refusal that arrived meanwhile, and each
// refused request is answered once a write holding it has committed. Windows are this process's:
// several servers each write their own entry a minute.
import type { FastifyRequest } from 'fastify'
import type { Deps } from '../../provisioning/deps.ts'
import type { OrgId, OrgRow } from '../../store/store.ts'
import { actorOf } from './access.ts'

/** How long one entry gathers a caller's refusals of one action. */
export const REFUSAL_WINDOW_MS = 60_000
/** Entries being gathered at most; past it the ones whose minute is over go, then the oldest. */
const MAX_WINDOWS = 10_000

interface Window {
  readonly id: string
  readonly startMs: number
  readonly firstAt: string
  lastAt: string
  count: number
  /** The count the database holds. */
  written: number
  details: Record<string, unknown>
  /** The entry's writes, one after another. */
  tail: Promise<void>
}

export interface Refusal {
  /** The audit entry's action: `token.refresh_refused` … */
  readonly action: string
  /** What was attempted and why it was refused (the answer's status, error and message). */
  readonly details: Record<string, unknown>
}

/** Whether the request's caller is one of `org`'s: a role in it (or the operator), or a key of it (or an operator key). */
function callerOf(request: FastifyRequest, org: OrgRow): boolean {
  const s = request.consoleSession
  if (s) return s.account.operator || s.roles.has(org.id)
  const key = request.apiKey
  return key !== null && (key.orgId === null || key.orgId === org.id)
}

export class RefusalAudit {
  readonly #deps: Pick<Deps, 'store' | 'now' | 'newId'>
  readonly #onError: (err: unknown) => void
  readonly #windows = new Map<string, Window>()

  constructor(deps: Pick<Deps, 'store' | 'now' | 'newId'>, onError: (err: unknown) => void) {
    this.#deps = deps
    this.#onError = onError
  }

  /**
   * Records a refused request at the organization `orgParam` names (as sent: an id or a name).
   * Never throws: a record that cannot be written is reported to `onError`, and the refusal is
   * answered all the same.
   */
  async refused(request: FastifyRequest, orgParam: string, r: Refusal): Promise<void> {
    try {
      const org = await this.#deps.store.getOrg(orgParam)
      if (org && callerOf(request, org)) {
        await this.#audit(org.id, actorOf(request), r)
        return
      }
      request.log.warn({ event: r.action, actor: actorOf(request), org: orgParam, ...r.details }, 'refused: a caller of another organization (answered 404)')
    } catch (e) {
      this.#onError(e)
    }
  }

  #audit(orgId: OrgId, actor: string, r: Refusal): Promise<void> {
    const now = this.#deps.now()
    const key = `${orgId}\u0000${actor}\u0000${r.action}`
    let w = this.#windows.get(key)
    if (!w || now.getTime() - w.startMs >= REFUSAL_WINDOW_MS) {
      if (!w && this.#windows.size >= MAX_WINDOWS) this.#forget(now.getTime())
      w = { id: this.#deps.newId(), startMs: now.getTime(), firstAt: now.toISOString(), lastAt: now.toISOString(), count: 0, written: 0, details: {}, tail: Promise.resolve() }
      this.#windows.set(key, w)
    }
    w.count++
    w.lastAt = now.toISOString()
    w.details = r.details
    const entry = w
    entry.tail = entry.tail.then(() => this.#write(orgId, actor, r.action, entry))
    return entry.tail
  }

  /** Writes the entry with every refusal counted so far, unless an earlier write holds them all already. */
  async #write(orgId: OrgId, actor: string, action: string, w: Window): Promise<void> {
    if (w.written >= w.count) return
    const count = w.count
    try {
      await this.#deps.store.console.putAudit(orgId, {
        id: w.id, at: w.firstAt, actor, action, details: { ...w.details, count, firstAt: w.firstAt, lastAt: w.lastAt },
      })
      w.written = count
    } catch (e) {
      this.#onError(e)
    }
  }

  /** Room for one more window: those whose minute is over, else the oldest. */
  #forget(nowMs: number): void {
    for (const [key, w] of this.#windows) if (nowMs - w.startMs >= REFUSAL_WINDOW_MS) this.#windows.delete(key)
    const first = this.#windows.keys().next()
    if (this.#windows.size >= MAX_WINDOWS && !first.done) this.#windows.delete(first.value)
  }
}
