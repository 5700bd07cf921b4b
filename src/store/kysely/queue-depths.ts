// The background work waiting in the database, read for each /metrics scrape (a few counts
// over indexed columns; not on any request's path). The same SQL on SQLite and PostgreSQL.
import type { QueueDepths } from '../store.ts'
import type { Conn } from './prepared.ts'

const SQL = `select
  (select count(*) from webhook_deliveries) as webhook_deliveries,
  (select count(*) from invitations where status = 'queued') as invitation_emails,
  (select count(*) from events where position is null) as unstamped_events,
  (select coalesce(max(position), 0) from events) as newest,
  (select min(cursor) from webhook_endpoints where enabled = 1) as webhook_cursor,
  (select position from worker_cursors where name = 'mailer') as mailer_cursor`

interface Row {
  webhook_deliveries: number | string
  invitation_emails: number | string
  unstamped_events: number | string
  newest: number | string
  webhook_cursor: number | string | null
  mailer_cursor: number | string | null
}

export async function queueDepths(reader: Conn): Promise<QueueDepths> {
  const [r] = await reader.all<Row>(SQL, [])
  if (!r) throw new Error('queue depths: no row')
  const newest = Number(r.newest)
  const behind = (cursor: number | string | null) => (cursor === null ? 0 : Math.max(0, newest - Number(cursor)))
  return {
    webhookDeliveries: Number(r.webhook_deliveries),
    invitationEmails: Number(r.invitation_emails),
    unstampedEvents: Number(r.unstamped_events),
    webhookEventLag: behind(r.webhook_cursor),
    mailerEventLag: behind(r.mailer_cursor),
  }
}
