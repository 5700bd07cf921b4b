// The vendor API's one error: a status, a stable code and a message (docs/errors.md), and for
// some errors more fields a client acts on (a 410's `resyncCursor`).
import { tooManyFailuresMessage } from '../auth-failures.ts'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** The 429 of a source past its failed authentications (http/auth-failures.ts): API keys, SCIM tokens and console passwords alike. */
export function tooManyFailures(retryAfterSeconds: number): ApiError {
  return new ApiError(429, 'too_many_failures', tooManyFailuresMessage(retryAfterSeconds), { 'retry-after': String(retryAfterSeconds) })
}
