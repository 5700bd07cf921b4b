// The vendor API's one error: a status, a stable code and a message (docs/errors.md), and for
// some errors more fields a client acts on (a 410's `resyncCursor`).
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
