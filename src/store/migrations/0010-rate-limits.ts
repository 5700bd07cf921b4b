// PostgreSQL: the token buckets several servers share (store/kysely/rate-limit-buckets.ts).
// Unlogged: a bucket is worth nothing after a crash (it refills within seconds), and skipping the
// WAL keeps the servers' syncs cheap. SQLite serves one process, whose buckets in memory are the
// whole truth: nothing to create there.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function rateLimits(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind !== 'postgres') return
      await sql`create unlogged table rate_limit_buckets (
        key text collate "C" primary key, tokens float8 not null, at_ms bigint not null, rate float8 not null, capacity float8 not null)`.execute(db)
    },
  }
}
