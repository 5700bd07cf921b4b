// Bench HTTP client: a promise wrapper over node:http(s) with one keep-alive agent whose
// socket pool matches the benchmark's concurrency, so every phase reuses warm connections.
// No dependencies on purpose: the same client drives the SCIM server and the ceiling server.
import http from 'node:http'
import https from 'node:https'
import { performance } from 'node:perf_hooks'

export interface HttpResponse {
  status: number
  body: string
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown
  /** Time from issuing the request to the last byte of the response, in milliseconds. */
  ms: number
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

const TIMEOUT_MS = 60_000

export class HttpClient implements Requester {
  readonly #base: URL
  readonly #basePath: string
  readonly #agent: http.Agent
  readonly #transport: typeof http | typeof https
  readonly #headers: Record<string, string>

  constructor(baseUrl: string, token: string | null, concurrency: number) {
    this.#base = new URL(baseUrl)
    this.#basePath = this.#base.pathname.replace(/\/+$/, '')
    const secure = this.#base.protocol === 'https:'
    this.#transport = secure ? https : http
    // `timeout` lets Node's agent honour the server's `Keep-Alive: timeout=N` hint: an idle socket
    // is closed a second before the server would close it, so that a request never goes out on a
    // socket the server is closing that instant ("socket hang up", once in 172,255 requests of a
    // PostgreSQL run whose slow phases left sockets idle for longer than the server keeps them).
    const agentOptions = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, timeout: TIMEOUT_MS }
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
    this.#headers = { accept: 'application/scim+json, application/json' }
    if (token !== null) this.#headers.authorization = `Bearer ${token}`
  }

  /**
   * `path` is appended to the base URL's path, e.g. `/Users?filter=...`. `token` replaces the
   * client's bearer token for this request (one organization's token among several).
   */
  request(method: Method, path: string, body?: unknown, token?: string): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers: Record<string, string | number> = { ...this.#headers }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (payload !== undefined) {
      headers['content-type'] = 'application/scim+json'
      headers['content-length'] = payload.length
    }
    return new Promise((resolve, reject) => {
      const started = performance.now()
      const req = this.#transport.request(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname,
          port: this.#base.port,
          path: this.#basePath + path,
          method,
          headers,
          agent: this.#agent,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () => {
            const ms = performance.now() - started
            const text = Buffer.concat(chunks).toString('utf8')
            resolve({ status: res.statusCode ?? 0, body: text, json: parseJson(text), ms })
          })
        },
      )
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}

/** Anything that sends a request: one client, or several servers taken in turn. */
export interface Requester {
  request(method: Method, path: string, body?: unknown, token?: string): Promise<HttpResponse>
}

/**
 * Several servers behind one interface: each request goes to the next server in turn (round
 * robin), as a load balancer in front of several Roster servers would spread them.
 */
export class Servers implements Requester {
  readonly clients: readonly HttpClient[]
  #next = 0

  constructor(bases: readonly string[], token: string | null, concurrency: number) {
    this.clients = bases.map((base) => new HttpClient(base, token, concurrency))
  }

  request(method: Method, path: string, body?: unknown, token?: string): Promise<HttpResponse> {
    const client = this.clients[this.#next] as HttpClient
    this.#next = (this.#next + 1) % this.clients.length
    return client.request(method, path, body, token)
  }

  close(): void {
    for (const c of this.clients) c.close()
  }
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

// Small accessors for untyped JSON, so checks stay readable without `any`.
export function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

export function str(value: unknown, key: string): string | undefined {
  const v = field(value, key)
  return typeof v === 'string' ? v : undefined
}

export function list(value: unknown, key: string): unknown[] {
  const v = field(value, key)
  return Array.isArray(v) ? (v as unknown[]) : []
}
