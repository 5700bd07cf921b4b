// The base URL written into SCIM answers (`Location`, `meta.location`, discovery's URLs). It comes
// from configuration: ROSTER_PUBLIC_URL when set. Without it, the request's Host header is used
// only when it names a host of the allow-list (ROSTER_ALLOWED_HOSTS; loopback by default), and
// otherwise the server's own address: an unchecked Host header would let anyone write their own
// host into answers that clients and caches keep (host-header injection; OWASP WSTG-INPV-17).

export interface BaseUrlConfig {
  readonly publicUrl: string | null
  /** Hosts (with or without a port) whose Host header may stand for the server. */
  readonly allowedHosts: readonly string[]
  /** The server's own address, `http(s)://HOST:PORT`, when the Host header is not allowed. */
  readonly fallback: string
}

export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]']

function hostOnly(hostPort: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostPort)
  return (m?.[1] ?? hostPort).toLowerCase()
}

/** The base URL (without a trailing slash) for a request's protocol and Host header. */
export function baseUrlResolver(c: BaseUrlConfig): (protocol: string, host: string | undefined) => string {
  if (c.publicUrl !== null) {
    const url = c.publicUrl
    return () => url
  }
  const exact = new Set(c.allowedHosts.filter((h) => /:\d+$/.test(h) && !/^\[[^\]]*\]$/.test(h)).map((h) => h.toLowerCase()))
  const anyPort = new Set(c.allowedHosts.filter((h) => !exact.has(h.toLowerCase())).map((h) => h.toLowerCase()))
  return (protocol, host) => {
    if (host === undefined || host === '') return c.fallback
    const h = host.toLowerCase()
    return exact.has(h) || anyPort.has(hostOnly(h)) ? `${protocol}://${h}` : c.fallback
  }
}

/** `http://HOST:PORT` of a listening address, `https://` when it serves TLS itself (an IPv6 host in brackets; a wildcard address as loopback). */
export function serverAddress(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  return `${scheme}://${h}:${port}`
}
