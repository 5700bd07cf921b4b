// The vendor API's one error: a status, a stable code and a message (docs/errors.md).
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message)
    this.name = 'ApiError'
  }
}
