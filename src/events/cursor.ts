// The event feed's cursor: the position of the last event a consumer has seen and a time no
// later than that of any event after it (http/api/events.ts), base64url-encoded so that clients
// treat it as opaque. The time lets the feed tell a consumer whose next events retention may have
// deleted to resynchronise.
export interface FeedCursor {
  readonly position: number
  /** No event after `position` is older than this (the events the retention keeps are newer). */
  readonly issuedMs: number
}

export function encodeFeedCursor(position: number, issuedMs: number): string {
  return Buffer.from(`${position}.${issuedMs}`, 'utf8').toString('base64url')
}

/** The cursor, or null when `raw` is not one this feed issued. */
export function decodeFeedCursor(raw: string): FeedCursor | null {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : ''
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(text)
  return m ? { position: Number(m[1]), issuedMs: Number(m[2]) } : null
}
