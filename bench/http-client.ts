// Bench HTTP client: HTTP/1.1 with keep-alive over a pool of raw sockets, one per request in
// flight (the benchmark's concurrency), so every phase reuses warm connections. No dependencies
// on purpose: the same client drives the SCIM server and the ceiling server.
//
// Why not node:http's client: on the benchmark's two cores the client shares the machine with
// the server, and node:http's request objects, agent and streams cost about 2.5 times the CPU of
// writing one prepared buffer and reading the answer off the socket (194-218 against 81-92 µs a
// create, measured side by side; bench/README.md). What the client does not spend, the server's
// other threads and the kernel can use. It speaks the HTTP/1.1 the benchmark needs (RFC 9112):
// a request with Content-Length, an answer framed by Content-Length or chunked
// transfer coding, `Connection: close`, and the server's `Keep-Alive: timeout=N` hint.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'

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
/** An idle socket is closed this long before the server's announced keep-alive timeout. */
const KEEP_ALIVE_MARGIN_MS = 1_000
const HEAD_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')

interface Exchange {
  readonly request: Buffer
  readonly started: number
  readonly resolve: (r: HttpResponse) => void
  readonly reject: (e: Error) => void
}

/** One keep-alive connection: writes a request, parses its answer, then is free again. */
class Connection {
  readonly socket: net.Socket
  #exchange: Exchange | null = null
  #buffer: Buffer = Buffer.alloc(0)
  /** Where the body starts in #buffer once the head is parsed; -1 before. */
  #bodyAt = -1
  #status = 0
  #length = -1
  #chunked = false
  #close = false
  closed = false
  /** When the connection became free (performance.now()). */
  idleSince = 0
  /** The server's keep-alive timeout in ms (its `Keep-Alive: timeout=N`), if it gave one. */
  keepAliveMs = Number.POSITIVE_INFINITY

  readonly #onFree: (c: Connection) => void

  constructor(url: URL, onFree: (c: Connection) => void) {
    this.#onFree = onFree
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
    this.socket = url.protocol === 'https:'
      ? tls.connect({ host: url.hostname, port, servername: net.isIP(url.hostname) === 0 ? url.hostname : undefined })
      : net.connect({ host: url.hostname, port })
    this.socket.setNoDelay(true)
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk))
    this.socket.on('error', (e) => this.#end(e))
    this.socket.on('close', () => this.#end(new Error('socket hang up: the server closed the connection'), true))
  }

  get busy(): boolean {
    return this.#exchange !== null
  }

  get started(): number {
    return this.#exchange?.started ?? 0
  }

  send(exchange: Exchange): void {
    this.#exchange = exchange
    this.#buffer = Buffer.alloc(0)
    this.#bodyAt = -1
    this.socket.write(exchange.request)
  }

  destroy(err?: Error): void {
    this.socket.destroy()
    this.#end(err ?? new Error('connection closed by the client'))
  }

  /** The connection is gone: `closed` when the socket closed (not an error, not the client's destroy). */
  #end(err: Error, closed = false): void {
    this.closed = true
    const ex = this.#exchange
    this.#exchange = null
    if (ex === null) return
    // An answer framed by neither Content-Length nor chunked coding ends with the connection.
    if (closed && this.#bodyAt >= 0 && !this.#chunked && this.#length < 0) {
      const text = this.#buffer.subarray(this.#bodyAt).toString('utf8')
      ex.resolve({ status: this.#status, body: text, json: parseJson(text), ms: performance.now() - ex.started })
    } else {
      ex.reject(err)
    }
  }

  #data(chunk: Buffer): void {
    if (this.#exchange === null) return // nothing asked: a stray byte on an idle socket is ignored
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    if (this.#bodyAt < 0 && !this.#head()) return
    const body = this.#chunked ? dechunk(this.#buffer, this.#bodyAt) : this.#fixedBody()
    if (body === null) return
    const ex = this.#exchange
    this.#exchange = null
    this.#buffer = Buffer.alloc(0)
    const text = body.toString('utf8')
    const response = { status: this.#status, body: text, json: parseJson(text), ms: performance.now() - ex.started }
    if (this.#close) this.destroy()
    else {
      this.idleSince = performance.now()
      this.#onFree(this)
    }
    ex.resolve(response)
  }

  /** Parses the status line and headers once they are in; false until then. */
  #head(): boolean {
    const end = this.#buffer.indexOf(HEAD_END)
    if (end < 0) return false
    const lines = this.#buffer.toString('latin1', 0, end).split('\r\n')
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (status === null) {
      this.destroy(new Error(`not an HTTP/1.1 status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`))
      return false
    }
    this.#status = Number(status[1])
    this.#length = -1
    this.#chunked = false
    this.#close = false
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(':')
      if (colon < 0) continue
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim().toLowerCase()
      if (name === 'content-length') this.#length = Number(value)
      else if (name === 'transfer-encoding') this.#chunked = value.split(',').map((s) => s.trim()).includes('chunked')
      else if (name === 'connection') this.#close = value.split(',').map((s) => s.trim()).includes('close')
      else if (name === 'keep-alive') {
        const t = /(?:^|,)\s*timeout=(\d+)/.exec(value)
        if (t) this.keepAliveMs = Number(t[1]) * 1000
      }
    }
    // No body: 204 and 304 (RFC 9112 §6.3); an answer with neither framing runs to the close.
    if (this.#status === 204 || this.#status === 304) {
      this.#length = 0
      this.#chunked = false
    } else if (!this.#chunked && this.#length < 0) {
      this.#close = true
    }
    this.#bodyAt = end + HEAD_END.length
    return true
  }

  #fixedBody(): Buffer | null {
    if (this.#length < 0) return null // read to the close (#end)
    if (this.#buffer.length - this.#bodyAt < this.#length) return null
    return this.#buffer.subarray(this.#bodyAt, this.#bodyAt + this.#length)
  }
}

/** The body of a chunked answer once its last chunk and trailers are in; null until then. */
export function dechunk(buffer: Buffer, from: number): Buffer | null {
  const parts: Buffer[] = []
  let at = from
  for (;;) {
    const eol = buffer.indexOf(CRLF, at)
    if (eol < 0) return null
    const size = Number.parseInt(buffer.toString('latin1', at, eol).split(';')[0] as string, 16)
    if (Number.isNaN(size)) throw new Error('malformed chunk size')
    if (size === 0) {
      // Trailers (usually none) end with an empty line.
      return buffer.indexOf(HEAD_END, eol) >= 0 || buffer.subarray(eol, eol + 4).equals(HEAD_END) ? Buffer.concat(parts) : null
    }
    const start = eol + CRLF.length
    if (buffer.length < start + size + CRLF.length) return null
    parts.push(buffer.subarray(start, start + size))
    at = start + size + CRLF.length
  }
}

export class HttpClient implements Requester {
  readonly #base: URL
  readonly #basePath: string
  readonly #fixedHeaders: string
  readonly #authorization: string
  readonly #concurrency: number
  readonly #free: Connection[] = []
  readonly #all = new Set<Connection>()
  readonly #waiting: Exchange[] = []
  readonly #sweeper: NodeJS.Timeout

  constructor(baseUrl: string, token: string | null, concurrency: number) {
    this.#base = new URL(baseUrl)
    if (this.#base.protocol !== 'http:' && this.#base.protocol !== 'https:') throw new Error(`not an http(s) URL: ${baseUrl}`)
    this.#basePath = this.#base.pathname.replace(/\/+$/, '')
    this.#concurrency = Math.max(1, concurrency)
    this.#fixedHeaders = `host: ${this.#base.host}\r\naccept: application/scim+json, application/json\r\n`
    this.#authorization = token === null ? '' : bearer(token)
    // One timer for every request's timeout instead of one per request.
    this.#sweeper = setInterval(() => this.#sweep(), 1_000)
    this.#sweeper.unref()
  }

  /**
   * `path` is appended to the base URL's path, e.g. `/Users?filter=...`. `token` replaces the
   * client's bearer token for this request (one organization's token among several).
   */
  request(method: Method, path: string, body?: unknown, token?: string): Promise<HttpResponse> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body))
    let head = `${method} ${this.#basePath}${path} HTTP/1.1\r\n${this.#fixedHeaders}${token === undefined ? this.#authorization : bearer(token)}`
    head += payload === null ? '\r\n' : `content-type: application/scim+json\r\ncontent-length: ${payload.length}\r\n\r\n`
    const request = payload === null ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), payload])
    return new Promise((resolve, reject) => {
      const exchange: Exchange = { request, started: performance.now(), resolve, reject }
      const c = this.#take()
      if (c !== null) c.send(exchange)
      else this.#waiting.push(exchange)
    })
  }

  close(): void {
    clearInterval(this.#sweeper)
    for (const c of this.#all) c.destroy()
    this.#all.clear()
    this.#free.length = 0
    for (const ex of this.#waiting.splice(0)) ex.reject(new Error('client closed'))
  }

  /** A free live connection, a new one if fewer than `concurrency` are open, else null. */
  #take(): Connection | null {
    const now = performance.now()
    for (let c = this.#free.pop(); c !== undefined; c = this.#free.pop()) {
      // Closed by the server, or about to be (its keep-alive timeout): never reused.
      if (!c.closed && now - c.idleSince < c.keepAliveMs - KEEP_ALIVE_MARGIN_MS) return c
      this.#all.delete(c)
      if (!c.closed) c.destroy()
    }
    for (const c of this.#all) if (c.closed) this.#all.delete(c)
    if (this.#all.size >= this.#concurrency) return null
    const c = new Connection(this.#base, (free) => this.#release(free))
    c.socket.on('close', () => {
      this.#all.delete(c)
      // A connection that went away leaves room for a waiting request.
      const next = this.#waiting.shift()
      if (next !== undefined) {
        const other = this.#take()
        if (other !== null) other.send(next)
        else this.#waiting.unshift(next)
      }
    })
    this.#all.add(c)
    return c
  }

  #release(c: Connection): void {
    const next = this.#waiting.shift()
    if (next !== undefined) c.send(next)
    else this.#free.push(c)
  }

  #sweep(): void {
    const now = performance.now()
    for (const c of this.#all) {
      if (c.busy && now - c.started > TIMEOUT_MS) c.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`))
    }
  }
}

function bearer(token: string): string {
  if (/[\r\n]/.test(token)) throw new Error('a token cannot hold a line break')
  return `authorization: Bearer ${token}\r\n`
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
