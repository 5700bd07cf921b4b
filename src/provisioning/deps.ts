// What every use case is handed: the store, a clock and an id source (no module-level state).
import type { Deadline } from '../store/deadline.ts'
import type { Store } from '../store/store.ts'

export interface Deps {
  readonly store: Store
  readonly now: () => Date
  readonly newId: () => string
  readonly limits: Limits
  /** The request's deadline, when the use case serves one (store/deadline.ts). */
  readonly deadline?: Deadline | undefined
}

export interface Limits {
  /** Most results in one list page (advertised in /ServiceProviderConfig, RFC 7644 §3.4.2.4). */
  readonly maxResults: number
  /** Most operations in one PATCH (docs/architecture.md INP-7). */
  readonly maxPatchOperations: number
  /** Most member values one request may name. */
  readonly maxMembersPerRequest: number
  /** Largest request body in bytes; for POST /Bulk, its maxPayloadSize (RFC 7644 §3.7.4). */
  readonly maxBodyBytes: number
  /**
   * A group with more members than this is answered to GET /Groups/{id} as a stream, its members
   * read a page of `memberPageSize` at a time, so that memory does not grow with the group.
   */
  readonly streamMembersOver: number
  readonly memberPageSize: number
  /** Most operations in one POST /Bulk (maxOperations, RFC 7644 §3.7.4). */
  readonly maxBulkOperations: number
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxResults: 1_000,
  maxPatchOperations: 1_000,
  maxMembersPerRequest: 10_000,
  maxBodyBytes: 1024 * 1024,
  streamMembersOver: 1_000,
  memberPageSize: 1_000,
  maxBulkOperations: 1_000,
})
