// The vendor API (/api/v1) of a test app, called with an API key through the real HTTP server
// (the app's transport: a socket, test/helpers/app.ts), and the event feed read as a consumer reads it: from its stored cursor, a page at a
// time, long-polling for what has not arrived yet.
import type { LightMyRequestResponse } from 'fastify'
import type { TestApp } from './app.ts'

export interface ApiRes<T> {
  readonly status: number
  readonly headers: LightMyRequestResponse['headers']
  readonly json: T
  readonly text: string
}

/** An error answer of /api/v1 (docs/errors.md), with the extra fields some carry. */
export interface ApiErrorBody {
  readonly error: string
  readonly message: string
  readonly resyncCursor?: string
}

export type Json = Record<string, unknown>

export interface ApiOptions {
  /** The API key; null sends no Authorization header. */
  readonly key?: string | null
  readonly headers?: Record<string, string>
}

export type ApiGet = <T = Json>(path: string, opts?: ApiOptions) => Promise<ApiRes<T>>

/** GET `path` under /api/v1 with `defaultKey` unless another key is given. */
export function apiGet(t: TestApp, defaultKey: () => string): ApiGet {
  return async <T = Json>(path: string, opts: ApiOptions = {}): Promise<ApiRes<T>> => {
    const key = opts.key === undefined ? defaultKey() : opts.key
    const r = await t.send('GET', `/api/v1${path}`, { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(opts.headers ?? {}) })
    let json = {} as T
    try {
      json = (r.body ? JSON.parse(r.body) : {}) as T
    } catch {
      // Not JSON (a 304 has no body): json stays empty.
    }
    return { status: r.status, headers: r.headers, json, text: r.body }
  }
}

/** `method` `path` under /api/v1 with `key`, and a JSON body when one is given. */
export async function apiCall(t: TestApp, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, key: string, body?: unknown): Promise<{ status: number; json: Json; text: string }> {
  const r = await t.send(method, `/api/v1${path}`, { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body === undefined ? undefined : JSON.stringify(body))
  return { status: r.status, json: (r.body ? JSON.parse(r.body) : {}) as Json, text: r.body }
}

export interface FeedEvent {
  readonly id: string
  readonly type: string
  readonly timestamp: string
  readonly data: Json & {
    readonly id: string
    readonly version: number
    readonly orgId: string
    readonly member?: { readonly id: string; readonly type: 'user' | 'group' }
    readonly changes?: { readonly attributes: string[]; readonly before: Json; readonly after: Json }
  }
}

export interface FeedPage {
  readonly data: FeedEvent[]
  readonly nextCursor: string
}

/** One consumer of an organization's feed: keeps the cursor of each answer and asks again from it. */
export class FeedReader {
  cursor: string | undefined
  readonly #get: ApiGet
  readonly #org: string
  readonly #key: string | undefined

  constructor(get: ApiGet, org: string, key?: string) {
    this.#get = get
    this.#org = org
    this.#key = key
  }

  /** One answer from the stored cursor; the cursor moves to its nextCursor. */
  async page(params: { limit?: number; types?: string; wait?: number } = {}): Promise<FeedPage> {
    const q = new URLSearchParams()
    if (this.cursor !== undefined) q.set('after', this.cursor)
    if (params.limit !== undefined) q.set('limit', String(params.limit))
    if (params.types !== undefined) q.set('types', params.types)
    if (params.wait !== undefined) q.set('wait', String(params.wait))
    const r = await this.#get<FeedPage>(`/orgs/${encodeURIComponent(this.#org)}/events?${q.toString()}`, this.#key === undefined ? {} : { key: this.#key })
    if (r.status !== 200) throw new Error(`feed answered ${r.status}: ${r.text}`)
    if (typeof r.json.nextCursor !== 'string' || r.json.nextCursor === '') throw new Error(`feed answer without a cursor: ${r.text}`)
    this.cursor = r.json.nextCursor
    return r.json
  }

  /**
   * Reads until `n` events arrived (long-polling: on PostgreSQL an event is readable once its
   * commit is stamped), or until `timeoutMs` passed; never asks for more than `n`.
   */
  async take(n: number, opts: { types?: string; timeoutMs?: number } = {}): Promise<FeedEvent[]> {
    const out: FeedEvent[] = []
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
    while (out.length < n && Date.now() < deadline) {
      const p = await this.page({ limit: Math.min(1_000, n - out.length), wait: 1, ...(opts.types ? { types: opts.types } : {}) })
      out.push(...p.data)
    }
    return out
  }
}

/** The events' types, in feed order. */
export function typesOf(events: readonly FeedEvent[]): string[] {
  return events.map((e) => e.type)
}
