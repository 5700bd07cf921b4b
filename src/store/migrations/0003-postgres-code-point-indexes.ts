// PostgreSQL: indexes in code-point order (`collate "C"`) on the folded names, the order lists
// are sorted in and the order in which a prefix (`userName sw "x"`) is one index range. The
// unique indexes of 0001 keep enforcing uniqueness; these serve ordering and prefixes. SQLite
// compares text in code-point order already (BINARY collation on UTF-8).
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function postgresCodePointIndexes(kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (kind !== 'postgres') return
      await sql`create index users_user_name_c on users (org_id, user_name_folded collate "C")`.execute(db)
      await sql`create index groups_display_name_c on groups (org_id, display_name_folded collate "C")`.execute(db)
    },
  }
}
