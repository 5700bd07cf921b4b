// Console sessions on /api/v1 (docs/console.md): a request without an Authorization header is
// authenticated by its session cookie. Over HTTPS (the request came over TLS, or
// ROSTER_PUBLIC_URL is https) the cookie is `__Host-roster_session`: Secure, Path=/ and no
// Domain, which the browser enforces for that prefix, so that neither a sibling subdomain nor a
// plain-HTTP page can set or overwrite it (RFC 6265bis §4.1.3.2; OWASP ASVS 4.0.3 3.4.1, 3.4.4,
// 3.4.5). Over plain HTTP (development on loopback) it is `roster_session`, without Secure,
// which such a browser would drop. Either way HttpOnly (scripts never read it, ASVS 3.4.2) and
// SameSite=Strict (another site's page never sends it, ASVS 3.4.3). A request is read by the
// one name its scheme gives, never the other: an HTTPS server ignores a tossed `roster_session`.
// Every change (any method but GET, HEAD, OPTIONS) made with a session must carry the session's
// CSRF token in X-CSRF-Token, compared on the server with the one stored beside the session
// (OWASP CSRF Prevention Cheat Sheet, "Synchronizer Token Pattern"); the console reads it from
// GET /console/session, never from a cookie.
import { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { resolveSession, type ActiveSession, type ConsolePolicy } from '../../console/accounts.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { ApiError } from './errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The console session that authenticated the request (no Authorization header), if any. */
    consoleSession: ActiveSession | null
  }
}

/** The session cookie's name over plain HTTP (development). */
export const SESSION_COOKIE = 'roster_session'
/** Its name over HTTPS: the prefix makes the browser require Secure, Path=/ and no Domain. */
export const SECURE_SESSION_COOKIE = '__Host-roster_session'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** One cookie's value from the Cookie header (RFC 6265 §5.4), or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

/** Whether cookies get `Secure`: the request came over HTTPS, or the public URL is HTTPS. */
export function secureRequest(request: FastifyRequest, publicUrl: string | null): boolean {
  return request.protocol === 'https' || (publicUrl?.startsWith('https:') ?? false)
}

/** The session cookie's name for a request over HTTPS (`secure`) or plain HTTP. */
export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${sessionCookieName(secure)}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
}

export function setSessionCookie(reply: FastifyReply, token: string, maxAgeSeconds: number, secure: boolean): void {
  void reply.header('set-cookie', sessionCookie(token, maxAgeSeconds, secure))
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  void reply.header('set-cookie', sessionCookie('', 0, secure))
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Authenticates a request by its session cookie. Null when there is no cookie; a 401 when the
 * session is unknown or over; a 403 csrf_refused for a change without the session's token.
 */
export async function sessionOf(deps: Deps, policy: ConsolePolicy, request: FastifyRequest, publicUrl: string | null): Promise<ActiveSession | null> {
  const token = cookieValue(request.headers.cookie, sessionCookieName(secureRequest(request, publicUrl)))
  if (token === null || token === '') return null
  const session = await resolveSession(deps, policy, token)
  if (!session) throw new ApiError(401, 'unauthorized', 'The console session has ended: sign in again')
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers['x-csrf-token']
    if (typeof sent !== 'string' || !sameSecret(sent, session.session.csrf)) {
      throw new ApiError(403, 'csrf_refused', 'A change made with a console session must carry the session\'s X-CSRF-Token header')
    }
  }
  return session
}
