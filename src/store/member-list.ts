// How a membership event row stores its members (migration 0007, events/rows.ts): 17 bytes a
// member — a type byte and the id's 16 bytes — base64url-encoded, about 23 characters where the
// JSON `["<uuid>","user"]` takes 47. A 100-member PATCH's row is written with the change, in
// its transaction; half the bytes there is measurably faster. Ids that are not canonical UUIDs
// (never Roster's own) fall back to the JSON form, which starts with `[`.
import type { MemberKey } from './store.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const RECORD = 17

export function encodeMemberList(members: readonly MemberKey[]): string {
  if (!members.every((m) => UUID.test(m.id))) return JSON.stringify(members.map((m) => [m.id, m.type === 'Group' ? 'group' : 'user']))
  const buf = Buffer.allocUnsafe(members.length * RECORD)
  members.forEach((m, i) => {
    buf[i * RECORD] = m.type === 'Group' ? 1 : 0
    buf.write(m.id.replace(/-/g, ''), i * RECORD + 1, 16, 'hex')
  })
  return buf.toString('base64url')
}

/** The members as `[id, "user" | "group"]` pairs. */
export function decodeMemberList(text: string): [string, 'user' | 'group'][] {
  if (text.startsWith('[')) return JSON.parse(text) as [string, 'user' | 'group'][]
  const buf = Buffer.from(text, 'base64url')
  const out: [string, 'user' | 'group'][] = []
  for (let o = 0; o + RECORD <= buf.length; o += RECORD) {
    const h = buf.toString('hex', o + 1, o + RECORD)
    out.push([`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`, buf[o] === 1 ? 'group' : 'user'])
  }
  return out
}
