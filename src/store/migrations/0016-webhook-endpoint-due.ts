// webhook_deliveries_endpoint_due: the lane heads of one endpoint in due order. A claim shares
// its slots out among endpoints (store/kysely/webhook-store.ts): it walks the endpoints that have
// lane heads (a loose scan of this index, one probe an endpoint) and reads each one's first due
// heads from it, instead of ranking every due head of every endpoint, which cost a claim the
// whole backlog (50,000 rows when one endpoint was behind by 50,000 users).
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function webhookEndpointDue(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`create index webhook_deliveries_endpoint_due on webhook_deliveries (endpoint_id, next_attempt_ms, id) where is_head = 1`.execute(db)
    },
  }
}
