// Resource ids: UUID version 7 (RFC 9562 §5.7), time-ordered. Identity providers create users
// in bulk and add them to groups in much the same order, so ids that sort by creation time put
// a batch's membership and email rows next to each other in every index: a 100-member PATCH
// dirties a few pages instead of a hundred (bench/RESULTS.md has the measurement). Within one
// millisecond the 12-bit rand_a field is a counter (RFC 9562 §6.2, method 1), so ids from one
// process are strictly increasing. The creation time an id reveals is already in meta.created.
import { randomFillSync } from 'node:crypto'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Returns a generator of UUIDv7 strings; `now` is the clock in milliseconds. */
export function uuidV7Generator(now: () => number = Date.now): () => string {
  let lastMs = -1
  let counter = 0
  const random = randomPool()
  return () => {
    let ms = now()
    if (ms <= lastMs) {
      ms = lastMs
      counter++
      if (counter > 0xfff) {
        ms = lastMs + 1
        counter = 0
      }
    } else {
      counter = 0
    }
    lastMs = ms
    return formatUuidV7(ms, counter, random())
  }
}

/**
 * Returns a generator of UUIDv7 strings for given instants (the provisioning log's ids carry
 * the request's arrival). Ids of one millisecond increase in the order they are made; ids of
 * an earlier millisecond made later are still unique (62 random bits), though not increasing.
 */
export function uuidV7At(): (ms: number) => string {
  let lastMs = -1
  let counter = 0
  const random = randomPool()
  return (ms) => {
    if (ms === lastMs && counter < 0xfff) counter++
    else counter = 0
    lastMs = ms
    return formatUuidV7(ms, counter, random())
  }
}

/** The lowest UUIDv7 of millisecond `ms`: every id made in `ms` or later sorts at or above it. */
export function uuidV7Floor(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`
}

/** The millisecond inside a UUIDv7. */
export function uuidV7Ms(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}

/** Random bytes drawn from the CSPRNG 2 KiB at a time: one call per id cost more than the rest of it. */
function randomPool(): () => Uint8Array {
  const pool = new Uint8Array(8 * 256)
  let offset = pool.length
  return () => {
    if (offset >= pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    offset += 8
    return pool.subarray(offset - 8, offset)
  }
}

function formatUuidV7(ms: number, counter: number, rand: Uint8Array): string {
  const b = new Uint8Array(16)
  // 48-bit big-endian milliseconds.
  for (let i = 5, t = ms; i >= 0; i--, t = Math.floor(t / 256)) b[i] = t % 256
  b[6] = 0x70 | (counter >> 8)
  b[7] = counter & 0xff
  b[8] = 0x80 | ((rand[0] ?? 0) & 0x3f)
  for (let i = 9; i < 16; i++) b[i] = rand[i - 8] ?? 0
  // Concatenated directly: this runs for every request (provisioning-log ids).
  let out = ''
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += '-'
    out += HEX[b[i] ?? 0] ?? '00'
  }
  return out
}
