// The console's only way to the server: /api/v1 through the typed client generated from the
// OpenAPI document (src/client/api-types.ts), authenticated by the session cookie. Every change
// carries the session's CSRF token (docs/console.md, "CSRF"). A change the server refuses with
// 403 reauthentication_required (minting a SCIM token with a session whose password was proved
// too long ago) asks for the password (reauth.tsx) and, once confirmed, is sent again.
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

/** Asks the person for their password and confirms it; false when they cancel. Set by reauth.tsx. */
let askPassword: (() => Promise<boolean>) | null = null

export function setPasswordPrompt(prompt: (() => Promise<boolean>) | null): void {
  askPassword = prompt
}

const reauth: Middleware = {
  async onResponse({ request, response }) {
    if (response.status !== 403 || request.bodyUsed || !askPassword) return response
    const body = await response.clone().json().catch(() => null) as { error?: unknown } | null
    if (body?.error !== 'reauthentication_required') return response
    if (!(await askPassword())) return response
    // The refused changes carry no body: the same request again, with the session's CSRF token.
    const again = new Request(request.url, { method: request.method, credentials: 'same-origin', headers: { 'x-csrf-token': csrfToken } })
    return fetch(again)
  },
}

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' })
api.use(csrf)
api.use(reauth)

/** An error answer's message, for a person. */
export function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message)
  return 'Something went wrong; try again'
}
