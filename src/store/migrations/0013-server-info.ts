// server_info: what a running server says about itself, for the commands that run beside it in
// another process. `roster serve` records its public base URL (ROSTER_PUBLIC_URL, or the address
// it listens on) when it starts; `roster org create` and `roster org show` print the tenant URL
// from it, not one rebuilt from the command's own environment (docs/operations.md).
import { type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function serverInfo(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('server_info')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
    },
  }
}
