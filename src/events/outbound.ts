// One outbound webhook POST, as Standard Webhooks' "Delivery success and failure", "Request
// timeouts" and "Server side request forgery" sections ask (https://www.standardwebhooks.com):
// no redirects, one deadline, a short excerpt of the answer, and no reaching private networks
// (address ranges from the IANA special-purpose registries, RFC 6890).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { isIP, isIPv4, isIPv6, type LookupFunction, type Socket } from 'node:net'

export const DEFAULT_TIMEOUT_MS = 15_000
export const EXCERPT_BYTES = 2048
const MAX_URL_LENGTH = 2048

export interface WebhookResponse {
  /** The HTTP status, or null when no answer came; `error` is set exactly when this is null. */
  readonly status: number | null
  readonly durationMs: number
  /** At most EXCERPT_BYTES of the response body, as UTF-8. */
  readonly excerpt: string
  readonly retryAfter?: string
  readonly error?: string
}

export interface WebhookAgents {
  readonly http: http.Agent
  readonly https: https.Agent
}

/** Resolves a host name to every address it has, like dns.lookup with `all: true`. */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>

export interface PostOptions {
  /** Covers DNS, connect, TLS, the status line and the excerpt. */
  readonly timeoutMs?: number
  /** Lets webhooks reach loopback and private networks (development, on-premises receivers). */
  readonly allowPrivate: boolean
  readonly agents?: WebhookAgents
  readonly lookup?: ResolveHost
}

// Shared so a dispatcher reuses connections to a receiver across deliveries; bounded so a burst of
// slow receivers cannot exhaust file descriptors.
const AGENT_OPTIONS = { keepAlive: true, maxTotalSockets: 256, scheduling: 'lifo' } as const
export const webhookAgents: WebhookAgents = { http: new http.Agent(AGENT_OPTIONS), https: new https.Agent(AGENT_OPTIONS) }

export function closeAgents(): void {
  webhookAgents.http.destroy()
  webhookAgents.https.destroy()
}

export type UrlCheck = { readonly ok: true; readonly url: URL } | { readonly ok: false; readonly reason: string }

/**
 * Checks a webhook URL when an endpoint is registered: syntax, scheme, no credentials, and, unless
 * `allowPrivate`, literal addresses and `localhost`. Other host names are checked at each
 * delivery, since what they resolve to can change.
 */
export function validateWebhookUrl(url: string, allowPrivate: boolean): UrlCheck {
  if (url.length > MAX_URL_LENGTH) return { ok: false, reason: `URL is longer than ${MAX_URL_LENGTH} characters` }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' }
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { ok: false, reason: `scheme ${parsed.protocol} is not http: or https:` }
  // Credentials in a URL end up in logs and the admin UI; receivers authenticate us by signature.
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, reason: 'URL must not carry a user name or password' }
  const host = hostOf(parsed)
  if (host === '') return { ok: false, reason: 'URL has no host' }
  if (!allowPrivate) {
    if (isIP(host) !== 0) {
      const kind = classifyAddress(host)
      if (kind !== 'public') return { ok: false, reason: `${host} is a ${kind} address, which webhooks may not reach` }
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      return { ok: false, reason: `${host} is loopback (RFC 6761), which webhooks may not reach` }
    }
  }
  return { ok: true, url: parsed }
}

/** POSTs `body`; never throws for network trouble and never follows a redirect (a 3xx is just not a 2xx). */
export async function postWebhook(url: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<WebhookResponse> {
  const started = performance.now()
  const deadline = started + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  const elapsed = (): number => Math.round(performance.now() - started)
  const failed = (error: string): WebhookResponse => ({ status: null, durationMs: elapsed(), excerpt: '', error })

  const checked = validateWebhookUrl(url, opts.allowPrivate)
  if (!checked.ok) return failed(checked.reason)
  const target = checked.url
  const host = hostOf(target)

  let addresses: readonly LookupAddress[]
  try {
    const resolved = await beforeDeadline(resolveHost(host, opts.lookup ?? systemLookup), deadline)
    if (resolved === 'timeout') return failed(`timed out after ${elapsed()} ms resolving ${host}`)
    addresses = resolved
  } catch (e) {
    return failed(`DNS lookup for ${host} failed: ${errorText(e)}`)
  }
  if (addresses.length === 0) return failed(`${host} has no addresses`)
  if (!opts.allowPrivate) {
    // Any private address refuses the host: a name that mixes public and private answers is
    // either misconfigured or probing, and the connection could land on either.
    for (const a of addresses) {
      const kind = classifyAddress(a.address)
      if (kind !== 'public') return failed(`${host} resolves to ${a.address}, a ${kind} address, which webhooks may not reach`)
    }
  }

  const agents = opts.agents ?? webhookAgents
  const send = target.protocol === 'https:' ? https.request : http.request
  return new Promise<WebhookResponse>((resolve) => {
    let settled = false
    const settle = (r: WebhookResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(r)
    }
    const req = send(target, {
      method: 'POST',
      headers: { 'user-agent': 'Roster-Webhooks', ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: target.protocol === 'https:' ? agents.https : agents.http,
      // Connect to the addresses vetted above, not to a second answer from DNS that could have
      // been rebound to an internal address in between.
      lookup: pinnedLookup(addresses),
    })
    const timer = setTimeout(() => {
      settle(failed(`timed out after ${elapsed()} ms without a response`))
      req.destroy()
    }, Math.max(0, deadline - performance.now()))

    if (!opts.allowPrivate) {
      // A kept-alive socket (one with a remote address already) may have been opened by a call
      // that allowed private addresses; a new one connects to the vetted addresses. Node emits
      // 'socket' before it writes the request, so destroying here sends nothing.
      req.on('socket', (socket: Socket) => {
        const remote = socket.remoteAddress
        if (remote !== undefined && classifyAddress(remote) !== 'public') {
          settle(failed(`kept-alive connection to ${remote} refused: a ${classifyAddress(remote)} address`))
          req.destroy()
        }
      })
    }

    req.on('error', (e) => settle(failed(errorText(e))))
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      const retryAfter = res.headers['retry-after']
      const chunks: Buffer[] = []
      let size = 0
      const done = (): void => {
        const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8')
        settle({ status, durationMs: elapsed(), excerpt, ...(retryAfter === undefined ? {} : { retryAfter }) })
      }
      // The deadline now only cuts the excerpt short: the receiver has already answered.
      clearTimeout(timer)
      const bodyTimer = setTimeout(() => {
        done()
        res.destroy()
      }, Math.max(0, deadline - performance.now()))
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        size += chunk.length
        // Reading on would spend bandwidth on a body nobody looks at; the socket is given up.
        if (size >= EXCERPT_BYTES) {
          clearTimeout(bodyTimer)
          done()
          res.destroy()
        }
      })
      res.on('end', () => {
        clearTimeout(bodyTimer)
        done()
      })
      res.on('error', () => {
        clearTimeout(bodyTimer)
        done()
      })
    })
    req.end(body)
  })
}

export type AddressKind = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'cgnat' | 'multicast' | 'reserved' | 'invalid'

/** What an IPv4 or IPv6 address is, judging IPv6 forms that carry an IPv4 address by that address. */
export function classifyAddress(address: string): AddressKind {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  if (isIPv4(bare)) {
    const [a = 0, b = 0] = bare.split('.').map(Number)
    return classifyIPv4(a, b)
  }
  const b = parseIPv6(bare)
  if (b === null) return 'invalid'
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0)
  const v4 = (at: number): AddressKind => classifyIPv4(b[at] ?? 0, b[at + 1] ?? 0)
  if (zeros(0, 16)) return 'unspecified'
  if (zeros(0, 15) && b[15] === 1) return 'loopback'
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4(12) // ::ffff:a.b.c.d, mapped
  if (zeros(0, 12)) return v4(12) // ::a.b.c.d, the deprecated IPv4-compatible form
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return v4(12) // 64:ff9b::/96, NAT64
  if (b[0] === 0x20 && b[1] === 0x02) return v4(2) // 2002::/16, 6to4
  const first = b[0] ?? 0
  const second = b[1] ?? 0
  if (first === 0xff) return 'multicast'
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'link-local' // fe80::/10
  if (first === 0xfe && (second & 0xc0) === 0xc0) return 'private' // fec0::/10, deprecated site-local
  if ((first & 0xfe) === 0xfc) return 'private' // fc00::/7, unique local
  return 'public'
}

function classifyIPv4(a: number, b: number): AddressKind {
  if (a === 0) return 'unspecified' // 0.0.0.0/8, "this network"
  if (a === 127) return 'loopback'
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private'
  if (a === 169 && b === 254) return 'link-local'
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat' // 100.64.0.0/10, RFC 6598
  if (a >= 224 && a <= 239) return 'multicast'
  if (a >= 240) return 'reserved' // 240.0.0.0/4 and the broadcast address
  return 'public'
}

// 16 bytes, or null; the embedded dotted IPv4 tail and a zone id ("%eth0") are understood.
function parseIPv6(address: string): Uint8Array | null {
  const zone = address.indexOf('%')
  let s = zone >= 0 ? address.slice(0, zone) : address
  if (!isIPv6(s)) return null
  const lastColon = s.lastIndexOf(':')
  const tail = s.slice(lastColon + 1)
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number)
    s = `${s.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', rest] = s.split('::')
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = groups(head)
  const right = rest === undefined ? [] : groups(rest)
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const bytes = new Uint8Array(16)
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 0xff
  })
  return bytes
}

function hostOf(url: URL): string {
  const h = url.hostname
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h
}

async function resolveHost(host: string, lookup: ResolveHost): Promise<readonly LookupAddress[]> {
  const family = isIP(host)
  if (family !== 0) return [{ address: host, family }]
  return lookup(host)
}

const systemLookup: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)))
  })

function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses
    const first = wanted[0]
    if (first === undefined) {
      callback(Object.assign(new Error(`no IPv${String(options.family)} address among the vetted ones`), { code: 'ENOTFOUND' }), '', 0)
      return
    }
    // Node asks for every address when it tries IPv4 and IPv6 in turn (autoSelectFamily).
    if (options.all === true) callback(null, [...wanted])
    else callback(null, first.address, first.family)
  }
}

async function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()), 'timeout')
  })
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e)
  const code = (e as NodeJS.ErrnoException).code
  return code !== undefined && !e.message.includes(code) ? `${code}: ${e.message}` : e.message
}
