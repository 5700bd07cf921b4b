// invitations_sent: an organization's invitations by the time they went out. The cap on invitation
// emails per organization per hour (ROSTER_INVITATIONS_PER_HOUR; store/kysely/invitation-store.ts)
// counts those sent within the last hour at every claim; without it, the count read every
// invitation the organization ever had.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function invitationsSent(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`create index invitations_sent on invitations (org_id, sent_at) where sent_at is not null`.execute(db)
    },
  }
}
