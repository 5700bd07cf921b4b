// How stored event rows become events (migration 0007). A row holds one event, its JSON text
// exactly as delivered, or a membership change's events: one per member, sharing the group's
// `data` text (stored open, without its closing brace) and differing in the member. Such a row
// spends one insert on a 5,000-member PATCH instead of 5,000, and its events are made here, on
// reading, with the ids `<row id>_<index>` and positions `<row position> + index`.
import { decodeMemberList } from '../store/member-list.ts'
import type { StoredEvents } from '../store/store.ts'

export interface Event {
  readonly position: number
  /** The event's index in its row (0 for a single event). */
  readonly index: number
  readonly id: string
  readonly type: string
  readonly resourceId: string
  readonly lane: string
  readonly at: string
  /** `{"id","type","timestamp","data"}` as delivered. */
  readonly payload: string
}

/** The id of the `index`th event of a row. */
export function eventId(row: Pick<StoredEvents, 'id' | 'members'>, index: number): string {
  return row.members === null ? row.id : `${row.id}_${index}`
}

/** The row id and index an event id names. */
export function parseEventId(id: string): { rowId: string; index: number } {
  const m = /^(.+)_(\d{1,9})$/.exec(id)
  return m ? { rowId: m[1] as string, index: Number(m[2]) } : { rowId: id, index: 0 }
}

/** The row's events from `from` up to (not including) `until`. */
export function expand(row: StoredEvents, from = 0, until = row.count): Event[] {
  const base = { type: row.type, resourceId: row.resourceId, lane: row.lane, at: row.at }
  if (row.members === null) return from === 0 && until >= 1 ? [{ ...base, position: row.position, index: 0, id: row.id, payload: row.payload }] : []
  const members = decodeMemberList(row.members)
  const out: Event[] = []
  for (let i = from; i < Math.min(until, members.length); i++) {
    const [memberId, memberType] = members[i] as [string, string]
    const id = eventId(row, i)
    out.push({
      ...base, position: row.position + i, index: i, id,
      payload: `{"id":"${id}","type":"${row.type}","timestamp":"${row.at}","data":${row.payload},"member":{"id":${JSON.stringify(memberId)},"type":"${memberType}"}}}`,
    })
  }
  return out
}

/** The events after `after`, at most `limit`, of rows in position order. */
export function eventsAfter(rows: readonly StoredEvents[], after: number, limit: number): Event[] {
  const out: Event[] = []
  for (const row of rows) {
    if (out.length >= limit) break
    const from = Math.max(0, after + 1 - row.position)
    out.push(...expand(row, from, Math.min(row.count, from + limit - out.length)))
  }
  return out
}
