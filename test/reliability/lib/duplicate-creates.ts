// Concurrent creates of one userName in case variants (docs/architecture.md DUR-1), a round at a
// time, and the check of the event feed afterwards. Shared by test/e2e/concurrency.test.ts (a few
// dozen rounds) and `npm run duplicate-creates` (1,000 by default).
import type { FeedEvent } from '../../helpers/api-client.ts'
import type { Call } from '../../helpers/spawned-server.ts'

export type Send = (method: string, path: string, body?: unknown) => Promise<Call>

export interface RoundResult {
  /** The id of each 201. */
  readonly created: string[]
  /** Every answer that is neither a 201 nor a 409 uniqueness, as "status body". */
  readonly unexpected: string[]
  /** The ids a filter on the userName (in a third case) finds afterwards. */
  readonly found: string[]
}

/** `clients` concurrent POST /Users of `Alice<round>@x.example` and `alice<round>@X.EXAMPLE`, then the lookup. */
export async function duplicateCreateRound(send: Send, round: number, body: (userName: string) => unknown, clients = 64): Promise<RoundResult> {
  const results = await Promise.all(Array.from({ length: clients }, (_, i) => send('POST', '/Users', body(i % 2 ? `Alice${round}@x.example` : `alice${round}@X.EXAMPLE`))))
  const created = results.filter((r) => r.status === 201).map((r) => String(r.json.id))
  const unexpected = results.filter((r) => r.status !== 201 && !(r.status === 409 && r.json.scimType === 'uniqueness')).map((r) => `${r.status} ${r.text.slice(0, 200)}`)
  const lookup = await send('GET', `/Users?filter=${encodeURIComponent(`userName eq "ALICE${round}@x.example"`)}`)
  return { created, unexpected, found: (lookup.json.Resources ?? []).map((r) => String(r.id)) }
}

/** What is wrong with a round: anything but one 201, the rest 409 uniqueness, and that one user found. */
export function roundProblems(round: number, r: RoundResult, clients = 64): string[] {
  const out: string[] = []
  if (r.created.length !== 1) out.push(`round ${round}: ${r.created.length} × 201`)
  if (r.unexpected.length > 0) out.push(`round ${round}: ${r.unexpected.length} of ${clients - r.created.length} refusals not 409 uniqueness: ${r.unexpected.slice(0, 3).join(' | ')}`)
  if (r.found.length !== 1 || r.found[0] !== r.created[0]) out.push(`round ${round}: the filter finds ${JSON.stringify(r.found)}, created ${JSON.stringify(r.created)}`)
  return out
}

/** The user.created events against the winners: exactly one each, none for anyone else. */
export function createdEventProblems(events: readonly FeedEvent[], winners: readonly string[]): string[] {
  const counts = new Map<string, number>()
  for (const e of events) if (e.type === 'user.created') counts.set(e.data.id, (counts.get(e.data.id) ?? 0) + 1)
  const out = winners.filter((id) => counts.get(id) !== 1).map((id) => `${id}: ${counts.get(id) ?? 0} user.created events`)
  const known = new Set(winners)
  for (const [id, n] of counts) if (!known.has(id)) out.push(`${id}: ${n} user.created events for a user no round created`)
  return out
}
