// The event feed (GET /api/v1/orgs/{org}/events) read over a real socket, by a test app
// listening on a port or by a spawned `roster serve`: the same ApiGet as api-client.ts gives
// for injected requests, so FeedReader reads either way.
import type { ApiGet, ApiOptions, ApiRes, FeedEvent, FeedReader } from './api-client.ts'

/** GET `path` under `base`/api/v1 with `defaultKey` unless another key is given. */
export function httpApiGet(base: string, defaultKey: string): ApiGet {
  return async <T>(path: string, opts: ApiOptions = {}): Promise<ApiRes<T>> => {
    const key = opts.key === undefined ? defaultKey : opts.key
    const r = await fetch(`${base}/api/v1${path}`, { headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(opts.headers ?? {}) } })
    const text = await r.text()
    let json = {} as T
    try {
      json = (text ? JSON.parse(text) : {}) as T
    } catch {
      // Not JSON: json stays empty, the status says what happened.
    }
    return { status: r.status, headers: Object.fromEntries(r.headers), json, text }
  }
}

/**
 * Every event after the reader's cursor, up to the end of the feed: pages of 1,000 until one
 * comes back empty after long-polling `waitSeconds` (on PostgreSQL an event is readable a moment
 * after its commit, once stamped; docs/events.md).
 */
export async function drainFeed(reader: FeedReader, opts: { types?: string; waitSeconds?: number } = {}): Promise<FeedEvent[]> {
  const out: FeedEvent[] = []
  for (;;) {
    const p = await reader.page({ limit: 1_000, wait: opts.waitSeconds ?? 2, ...(opts.types ? { types: opts.types } : {}) })
    if (p.data.length === 0) return out
    out.push(...p.data)
  }
}
