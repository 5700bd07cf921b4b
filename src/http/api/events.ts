// The event feed (docs/events.md): GET /orgs/{org}/events?after=&limit=&types=&wait=. Events come
// in position order; positions are given only to committed events and never to one that a
// reader could already have passed (store/kysely/event-stamper.ts), so a consumer that stores
// the cursor of each answer and asks again from it sees every event exactly once. Every answer
// carries a cursor to continue from, also when it holds no event. A cursor records when it was
// issued: one older than the retention may point before events that were deleted, and is a 410
// telling the consumer to resynchronise from the directory API (with a fresh cursor to follow
// from once it has).
import { postponeDeadline } from '../deadline.ts'
import type { FastifyInstance } from 'fastify'
import { EVENT_TYPES, isEventType } from '../../events/build.ts'
import { decodeFeedCursor, encodeFeedCursor, type FeedCursor } from '../../events/cursor.ts'
import type { Deps } from '../../provisioning/deps.ts'
import { eventsAfter, type Event } from '../../events/rows.ts'
import type { OrgId } from '../../store/store.ts'
import { authorize } from './access.ts'
import { ApiError } from './errors.ts'
import { MAX_WAIT_SECONDS, invalidParameter, parseLimit } from './paging.ts'
import { EVENTS } from './schemas.ts'

const DAY_MS = 86_400_000
/**
 * How much earlier than its position's neighbours an event's time may be: a write's events carry
 * the time it began and take their positions when it commits (and, on PostgreSQL, a moment
 * later). A cursor's time is set back by this much, so that no event after it is older.
 */
const SKEW_MS = 3_600_000

/** A cursor's time for events from `ms` on: set back by SKEW_MS, never below 0 (the cursor's form). */
function cursorTime(ms: number): number {
  return Math.max(0, ms - SKEW_MS)
}
/** While waiting, the feed is read again this often (events another server committed). */
const POLL_MS = 250

/** The `after` parameter: absent for the oldest event kept. */
export function feedCursorParam(name: string, raw: unknown): FeedCursor | null {
  if (raw === undefined || raw === '') return null
  const c = typeof raw === 'string' ? decodeFeedCursor(raw) : null
  if (!c) throw invalidParameter(name, 'is not a cursor this feed returned')
  return c
}

function parseTypes(raw: unknown): string[] | null {
  if (raw === undefined || raw === '') return null
  if (typeof raw !== 'string') throw invalidParameter('types', 'must be a comma-separated list of event types')
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '')
  for (const t of types) if (!isEventType(t)) throw invalidParameter('types', `unknown event type "${t}"; types are ${EVENT_TYPES.join(', ')}`)
  return types.length ? types : null
}

function parseWait(raw: unknown): number {
  if (raw === undefined || raw === '') return 0
  // A number when the route's schema coerced it (schemas.ts), text otherwise.
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN
  if (!Number.isInteger(n) || n < 0 || n > MAX_WAIT_SECONDS) throw invalidParameter('wait', `must be whole seconds from 0 to ${MAX_WAIT_SECONDS}`)
  return n
}

export interface FeedOptions {
  readonly retentionDays: number
  /** Resolves when the server closes: long-polls answer at once then. */
  readonly closing: Promise<void>
}

export function registerEventRoutes(app: FastifyInstance, deps: Deps, opts: FeedOptions): void {
  const { store } = deps

  /** Waits until events may have arrived, the deadline passes, or the server closes. */
  const nextChance = (deadline: number): Promise<void> => new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      off()
      resolve()
    }
    const timer = setTimeout(done, Math.max(0, Math.min(POLL_MS, deadline - Date.now())))
    const off = store.onEvents(done)
    void opts.closing.then(done)
  })

  app.get<{ Params: { org: string }; Querystring: Record<string, unknown> }>('/orgs/:org/events', { schema: EVENTS.listEvents }, async (request, reply) => {
    const q = request.query
    const cursor = feedCursorParam('after', q.after)
    const limit = parseLimit(q.limit)
    const types = parseTypes(q.types)
    const wait = parseWait(q.wait)
    const org = await authorize(deps, request, request.params.org, 'events:read')
    const now = deps.now().getTime()
    if (cursor && cursor.issuedMs < now - opts.retentionDays * DAY_MS) {
      const { newest } = await store.eventBounds(org.id)
      throw new ApiError(410, 'cursor_expired',
        `This cursor is older than the event retention (${opts.retentionDays} days): events after it may have been deleted. ` +
        'Resynchronise from the directory API (list users and groups), then follow the feed from resyncCursor.',
        {}, { resyncCursor: encodeFeedCursor(newest, cursorTime(now)) })
    }
    const after = cursor?.position ?? 0
    // With a type filter, a quiet answer still moves the cursor past the events it skipped: every
    // event at or below `newest`, read before the page, is visible to the page's query.
    const newest = types ? (await store.eventBounds(org.id)).newest : after
    let rows = await read(org.id, after)
    const deadline = Date.now() + wait * 1_000
    // The wait is no work: the request's deadline (http/deadline.ts) counts from its end.
    if (rows.length === 0 && wait > 0) postponeDeadline(request, reply, deadline)
    let closed = false
    void opts.closing.then(() => {
      closed = true
    })
    while (rows.length === 0 && Date.now() < deadline && !closed && !request.raw.destroyed) {
      await nextChance(deadline)
      rows = await read(org.id, after)
    }
    const last = rows[rows.length - 1]
    const reached = rows.length < limit ? Math.max(last?.position ?? after, newest) : (last as Event).position
    // The cursor's time is that of the oldest event that may follow it, not the answer's: a
    // consumer behind the feed (a full page) holds a cursor whose next events are as old as the
    // page's last, and retention deletes them by their time. Stamped with the answer's time, such
    // a cursor outlived them by as much as the consumer was behind, and a consumer that came back
    // within the retention skipped them without the 410.
    const lastAt = rows.length < limit ? now : Date.parse((last as Event).at)
    const next = encodeFeedCursor(reached, cursorTime(Number.isFinite(lastAt) ? Math.min(now, lastAt) : now))
    // The stored payloads are the events' exact JSON text: spliced, never parsed again (a string
    // is sent as it is; the response schema, EventPage, only documents it).
    return reply.type('application/json; charset=utf-8').send(`{"data":[${rows.map((r) => r.payload).join(',')}],"nextCursor":"${next}"}`)

    async function read(orgId: OrgId, from: number): Promise<readonly Event[]> {
      return eventsAfter(await store.readEvents(orgId, from, limit, types), from, limit)
    }
  })
}
