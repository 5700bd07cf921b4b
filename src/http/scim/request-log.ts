// The SCIM surface's side of the provisioning log. Every request gets its log id (a UUIDv7
// of its arrival) before authentication. A write that succeeds records its row inside its own
// transaction (writeLog, handed to the use case), so a committed change never lacks its row;
// every other request of a known organization (reads, failures, a revoked token's 401) is
// handed to the batched appender once its response is sent. A request whose token resolves no
// organization has nowhere to be logged and is not (docs/provisioning-log.md).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { changeRecord, type WriteLog } from '../../provisioning/log-change.ts'
import type { LogAppender } from '../../provisioning/log-appender.ts'
import { logRow, type RequestInfo, type ResourceRef } from '../../provisioning/log-row.ts'
import type { ScimError } from '../../scim/errors.ts'
import type { OrgId } from '../../store/store.ts'
import { addNote, knownIdentityProvider } from '../../scim/compat/detect.ts'

export interface RequestLogState {
  readonly logId: string
  readonly atMs: number
  /** performance.now() at arrival. */
  readonly start: number
  /** The organization of a revoked token, for a request that did not authenticate. */
  revokedOrgId: OrgId | null
  /** The status whose row was written in the change's transaction; 0 when none was. */
  inTransaction: number
  /** The error the response rendered, for its scimType and detail. */
  error: ScimError | null
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every SCIM request on arrival. */
    requestLog: RequestLogState | null
  }
}

export function startRequestLog(logId: string, atMs: number): RequestLogState {
  return { logId, atMs, start: performance.now(), revokedOrgId: null, inTransaction: 0, error: null }
}

function infoOf(request: FastifyRequest, state: RequestLogState): RequestInfo {
  return {
    logId: state.logId,
    atMs: state.atMs,
    requestId: request.id,
    identityProvider: request.scimTrace.identityProvider,
    method: request.method,
    url: request.url,
    notes: request.scimTrace.notes,
  }
}

/** The log of a write request answered with `status` on success, for its use case to record. */
export function writeLog(request: FastifyRequest, status: number): WriteLog {
  return {
    identityProvider() {
      return knownIdentityProvider(request.scimTrace)
    },
    note(text) {
      addNote(request.scimTrace, text)
    },
    async record(tx, orgId, change) {
      const state = request.requestLog
      if (!state) return
      // Duration of an in-transaction row: arrival to the moment its change was written,
      // before the commit (docs/provisioning-log.md).
      const durationUs = (performance.now() - state.start) * 1_000
      const row = logRow(infoOf(request, state), { type: change.resourceType, id: change.resourceId }, { status, scimType: null, detail: null, durationUs }, changeRecord(change))
      await tx.insertLog(orgId, row)
      state.inTransaction = status
    },
  }
}

const RESOURCE_PATH = /\/scim\/v2\/(users|groups)(?=[/?]|$)/i

/**
 * The resource a request addressed, from its path: `/Users/:id` → User and that id. (From the
 * URL: Fastify builds request.routeOptions as a new object on every read.)
 */
function resourceOf(request: FastifyRequest): ResourceRef | null {
  const m = RESOURCE_PATH.exec(request.url)
  if (!m?.[1]) return null
  const type = m[1].toLowerCase() === 'users' ? 'User' : 'Group'
  const id = (request.params as { id?: unknown } | undefined)?.id
  return { type, id: typeof id === 'string' ? id : null }
}

/** The onResponse hook: hands the row of every request not already logged to the appender. */
export function logResponse(appender: LogAppender) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const state = request.requestLog
    const orgId = request.orgId ?? state?.revokedOrgId ?? null
    // A row written with the change stands, unless the answer turned out different after it.
    if (state && orgId !== null && !(state.inTransaction !== 0 && state.inTransaction === reply.statusCode)) {
      const e = state.error
      const outcome = { status: reply.statusCode, scimType: e?.scimType ?? null, detail: e ? e.message : null, durationUs: (performance.now() - state.start) * 1_000 }
      appender.add(orgId, logRow(infoOf(request, state), resourceOf(request), outcome, null))
    }
    done()
  }
}
