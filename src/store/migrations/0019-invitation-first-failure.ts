// invitations.first_failure_ms: when an invitation's sending first failed. A transient failure is
// retried for three days from then (mail/mailer.ts), as a webhook delivery is from its own first
// failure. Counted from when the invitation was queued, an invitation the per-hour cap had held
// for three days (an organization onboarding more than 72,000 users at the default cap of 1,000)
// failed at its first transient error, without a retry.
import { sql, type Kysely, type Migration } from 'kysely'
import type { DialectKind } from './index.ts'

export function invitationFirstFailure(_kind: DialectKind): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`alter table invitations add column first_failure_ms bigint`.execute(db)
    },
  }
}
