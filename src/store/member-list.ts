// How a membership event row stores its members (migration 0007, events/rows.ts): 17 bytes a
// member — a type byte and the id's 16 bytes — base64url-encoded, about 23 characters where the
// JSON `["<uuid>","user"]` takes 47. A 100-member PATCH's row is written with the change, in
// its transaction; half the bytes there is measurably faster. Ids that are not canonical UUIDs
// (never Roster's own) fall back to the JSON form, which starts with `[`.
import type { MemberKey } from './store.ts'

const RECORD = 17

export function encodeMemberList(members: readonly MemberKey[]): string {
  const buf = Buffer.allocUnsafe(members.length * RECORD)
  for (let i = 0; i < members.length; i++) {
    const m = members[i] as MemberKey
    if (!writeUuid(buf, i * RECORD + 1, m.id)) return JSON.stringify(members.map((k) => [k.id, k.type === 'Group' ? 'group' : 'user']))
    buf[i * RECORD] = m.type === 'Group' ? 1 : 0
  }
  return buf.toString('base64url')
}

/**
 * Writes a canonical (lower-case, hyphenated) UUID's 16 bytes at `offset`; false for anything
 * else. Checked by its shape and by `write`, which stops at the first character that is not hex
 * (a regular expression and a copy without hyphens a member were 5 % of a 100-member PATCH).
 */
function writeUuid(buf: Buffer, offset: number, id: string): boolean {
  if (id.length !== 36 || id[8] !== '-' || id[13] !== '-' || id[18] !== '-' || id[23] !== '-' || UPPER_HEX.test(id)) return false
  return buf.write(id.slice(0, 8), offset, 4, 'hex') === 4 && buf.write(id.slice(9, 13), offset + 4, 2, 'hex') === 2 &&
    buf.write(id.slice(14, 18), offset + 6, 2, 'hex') === 2 && buf.write(id.slice(19, 23), offset + 8, 2, 'hex') === 2 &&
    buf.write(id.slice(24), offset + 10, 6, 'hex') === 6
}
const UPPER_HEX = /[A-F]/

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
