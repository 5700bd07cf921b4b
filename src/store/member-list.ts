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
 * else. One pass over the characters through a table (Buffer#write of the five hex runs was a
 * twentieth of a 100-member PATCH).
 */
function writeUuid(buf: Buffer, offset: number, id: string): boolean {
  if (id.length !== 36) return false
  for (const h of HYPHENS) if (id.charCodeAt(h) !== 45) return false
  for (let k = 0; k < 16; k++) {
    const at = DIGIT_PAIRS[k] as number
    const hi = NIBBLE[id.charCodeAt(at)] ?? -1
    const lo = NIBBLE[id.charCodeAt(at + 1)] ?? -1
    if (hi < 0 || lo < 0) return false
    buf[offset + k] = (hi << 4) | lo
  }
  return true
}

/** Where a canonical UUID has its hyphens, and where each of its 16 bytes' two hex digits start. */
const HYPHENS = [8, 13, 18, 23]
const DIGIT_PAIRS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]

/** Lower-case hex digits' values by character code; -1 for every other character. */
const NIBBLE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1)
  for (let c = 0; c < 10; c++) t[48 + c] = c
  for (let c = 0; c < 6; c++) t[97 + c] = 10 + c
  return t
})()

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
