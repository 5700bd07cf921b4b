// Security headers on every answer of the server (docs/security.md, "Security headers"): the set
// @fastify/helmet sends by default, fixed once here so that an answer costs one call, tuned for
// what Roster serves: JSON APIs (SCIM, /api/v1), which no browser should render, frame or cache,
// and HTML pages (the console under /console, built with React and Vite, and the API reference)
// that load only their own scripts and styles. OWASP Secure Headers Project; MDN, "Content
// Security Policy". A route that sets its own Content-Security-Policy keeps it.
import type { FastifyInstance } from 'fastify'

/** A JSON answer is data: it may load, run or be framed by nothing. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/**
 * An HTML page loads its scripts, styles, images and fonts from this origin only and calls only
 * this origin; inline styles stay allowed (React style props and the API reference set them),
 * inline scripts do not.
 */
export const PAGE_CSP = "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'"

const COMMON: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  // Browsers heed it only over HTTPS, which is how identity providers and the console reach Roster.
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
})

export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    void reply.headers(COMMON)
    if (!reply.hasHeader('content-security-policy')) {
      const type = reply.getHeader('content-type')
      void reply.header('content-security-policy', typeof type === 'string' && type.startsWith('text/html') ? PAGE_CSP : API_CSP)
    }
    // What an API answers (tokens once, directory data) is never kept by a shared cache; SCIM
    // clients still revalidate with ETags (RFC 7644 §3.14).
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
    done(null, payload)
  })
}
