// The console's only way to the server: /api/v1 through the typed client generated from the
// OpenAPI document (src/client/api-types.ts), authenticated by the session cookie. Every change
// carries the session's CSRF token (docs/console.md, "CSRF").
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from '../../src/client/api-types.ts'

export type Schemas = components['schemas']

let csrfToken = ''

export function setCsrf(token: string): void {
  csrfToken = token
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && csrfToken) request.headers.set('x-csrf-token', csrfToken)
    return request
  },
}

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' })
api.use(csrf)

/** An error answer's message, for a person. */
export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message)
  return 'Something went wrong; try again'
}
