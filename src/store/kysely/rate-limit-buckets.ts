// PostgreSQL's shared rate-limit buckets (migration 0010): one row per key (a token's hash or an
// organization), refilled and taken from in one statement per server and sync interval, never
// per request (http/rate-limit.ts). Keys arrive sorted, so two servers taking from the same
// buckets lock their rows in the same order and cannot deadlock. A server's clock never moves a
// bucket's time back.
import type { RateLimitBuckets } from '../rate-limit-store.ts'
import type { StoreDriver } from './store-driver.ts'

const TAKE = `insert into rate_limit_buckets as b (key, tokens, at_ms, rate, capacity)
  select k, c - u, $5, r, c from unnest($1::text[], $2::float8[], $3::float8[], $4::float8[]) as t(k, u, r, c)
  on conflict (key) do update set
    tokens = least(excluded.capacity, b.tokens + greatest(0, excluded.at_ms - b.at_ms) * excluded.rate / 1000) - (excluded.capacity - excluded.tokens),
    at_ms = greatest(b.at_ms, excluded.at_ms), rate = excluded.rate, capacity = excluded.capacity
  returning key, tokens`

const PRUNE = 'delete from rate_limit_buckets where at_ms < $1'

export function rateLimitBuckets(driver: StoreDriver): RateLimitBuckets | null {
  if (driver.kind !== 'postgres') return null
  return {
    take: (takes, nowMs) => driver.read(async () => {
      const rows = await driver.reader.all<{ key: string; tokens: number }>(TAKE, [
        takes.map((t) => t.key), takes.map((t) => t.used), takes.map((t) => t.rate), takes.map((t) => t.capacity), nowMs,
      ])
      return new Map(rows.map((r) => [r.key, Number(r.tokens)]))
    }),
    prune: (beforeMs) => driver.read(async () => {
      await driver.reader.run(PRUNE, [beforeMs])
    }),
  }
}
