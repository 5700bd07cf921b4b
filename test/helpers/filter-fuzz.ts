// Random SCIM filters for the differential test (test/e2e/filter-differential.test.ts): a small
// grammar over the attributes Roster stores in columns, side tables and JSON, with values drawn
// from the seeded resources (and case, width and substring variants of them) and from strings
// full of LIKE metacharacters. Everything comes from one seeded PRNG, so a seed replays a run.

/** mulberry32: small, fast, and the same sequence on every platform for a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type Rng = () => number

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  const x = xs[Math.floor(rng() * xs.length)]
  if (x === undefined) throw new Error('pick from an empty list')
  return x
}

/** Characters for random strings: LIKE metacharacters, quotes, accents, full width, ligatures, astral. */
const ALPHABET = ['a', 'b', 'x', 'A', 'B', 'X', '%', '_', '\\', '"', "'", '.', '@', '-', ' ', '1', '0', 'é', 'É', 'e\u0301', 'Ａ', 'ａ', 'ß', 'ﬀ', '😀', '[', ']', '(', ')', '*']

export function randomString(rng: Rng, max = 4): string {
  let s = ''
  const n = Math.floor(rng() * (max + 1))
  for (let i = 0; i < n; i++) s += pick(rng, ALPHABET)
  return s
}

function fullWidth(s: string): string {
  return s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
}

function randomCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('')
}

/** A variant of a stored string: itself, another case or width, or a piece of it. */
export function variant(rng: Rng, s: string): string {
  const cps = [...s]
  const i = Math.floor(rng() * (cps.length + 1))
  const j = i + Math.floor(rng() * (cps.length - i + 1))
  switch (Math.floor(rng() * 9)) {
    case 0:
      return s.toUpperCase()
    case 1:
      return s.toLowerCase()
    case 2:
      return randomCase(rng, s)
    case 3:
      return fullWidth(s)
    case 4:
      return cps.slice(0, i).join('')
    case 5:
      return cps.slice(i).join('')
    case 6:
      return cps.slice(i, j).join('')
    case 7:
      return s + pick(rng, ALPHABET)
    default:
      return s
  }
}

// Ordering (gt/ge/lt/le) is where SQL and the evaluator inherently part: SQLite (BINARY on
// UTF-8) and PostgreSQL (collate "C") order by code point, the evaluator by UTF-16 code unit, and
// the two disagree exactly when an astral character meets one in U+E000..U+FFFF at the first
// difference. Every stored value is compared with the literal, so a literal made only of code
// points below U+D800 never meets that case, whatever the data holds.
export function orderable(s: string): boolean {
  return [...s].every((c) => (c.codePointAt(0) ?? 0) < 0xd800)
}

export type Kind = 'string' | 'boolean' | 'dateTime' | 'complex' | 'multi' | 'unknown'

export interface AttrSpec {
  /** Spellings of the path as a client may write it. */
  readonly names: readonly string[]
  readonly kind: Kind
  /** Stored strings to draw literals from (for `multi`: the element values). */
  readonly pool: readonly string[]
}

export interface ValuePathSpec {
  readonly name: string
  /** Sub-attributes and their kinds, with pools. */
  readonly subs: readonly { readonly name: string; readonly kind: Kind; readonly pool: readonly string[] }[]
}

export interface Grammar {
  readonly attrs: readonly AttrSpec[]
  readonly valuePaths: readonly ValuePathSpec[]
  /** dateTime literals. */
  readonly dates: readonly string[]
  /** Paths that are unknown or cannot be filtered on: a filter naming one is 400 invalidFilter. */
  readonly invalid: readonly string[]
}

const STRING_OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const

function stringLiteral(rng: Rng, pool: readonly string[], op: string): string {
  for (let tries = 0; tries < 8; tries++) {
    const s = pool.length > 0 && rng() < 0.75 ? variant(rng, pick(rng, pool)) : randomString(rng)
    if (!['gt', 'ge', 'lt', 'le'].includes(op) || orderable(s)) return JSON.stringify(s)
  }
  return JSON.stringify([...randomString(rng)].map((c) => (orderable(c) ? c : 'z')).join(''))
}

function opName(rng: Rng, op: string): string {
  return rng() < 0.1 ? op.toUpperCase() : op
}

function leaf(rng: Rng, kind: Kind, name: string, pool: readonly string[], dates: readonly string[]): string {
  const r = rng()
  if (r < 0.1) return `${name} ${opName(rng, 'pr')}`
  if (r < 0.16 || (kind === 'complex' && r < 0.9)) return `${name} ${opName(rng, pick(rng, ['eq', 'ne', 'eq', 'ne', 'eq', 'ne', 'eq', 'ne', 'gt']))} null`
  switch (kind) {
    case 'boolean': {
      const op = rng() < 0.96 ? pick(rng, ['eq', 'ne']) : pick(rng, STRING_OPS)
      const value = rng() < 0.97 ? pick(rng, ['true', 'false', 'TRUE', 'False']) : pick(rng, ['"true"', '1', '"x"'])
      return `${name} ${opName(rng, op)} ${value}`
    }
    case 'dateTime': {
      const op = rng() < 0.96 ? pick(rng, ['eq', 'ne', 'gt', 'ge', 'lt', 'le']) : pick(rng, ['co', 'sw', 'ew'])
      const value = rng() < 0.98 ? JSON.stringify(pick(rng, dates)) : pick(rng, ['true', '42', '"not a date"', '""'])
      return `${name} ${opName(rng, op)} ${value}`
    }
    case 'complex':
      // Comparing a complex value is 400 unless it is multi-valued with a `value`.
      return `${name} ${opName(rng, pick(rng, STRING_OPS))} ${stringLiteral(rng, pool, 'eq')}`
    default: {
      const op = pick(rng, STRING_OPS)
      const value = rng() < 0.015 ? pick(rng, ['true', '7', '-1.5']) : stringLiteral(rng, pool, op)
      return `${name} ${opName(rng, op)} ${value}`
    }
  }
}

function elementFilter(rng: Rng, vp: ValuePathSpec, depth: number, dates: readonly string[]): string {
  if (depth < 2 && rng() < 0.35) {
    const r = rng()
    if (r < 0.25) return `not (${elementFilter(rng, vp, depth + 1, dates)})`
    const parts = [elementFilter(rng, vp, depth + 1, dates), elementFilter(rng, vp, depth + 1, dates)]
    return r < 0.65 ? parts.join(' and ') : `(${parts.join(' or ')})`
  }
  const sub = pick(rng, vp.subs)
  return leaf(rng, sub.kind, rng() < 0.1 ? sub.name.toUpperCase() : sub.name, sub.pool, dates)
}

/** One random filter, nested up to `maxDepth` levels of and/or/not. */
export function randomFilter(rng: Rng, g: Grammar, depth = 0, maxDepth = 4): string {
  if (depth < maxDepth && rng() < (depth === 0 ? 0.6 : 0.4)) {
    const r = rng()
    if (r < 0.2) return `not (${randomFilter(rng, g, depth + 1, maxDepth)})`
    const n = 2 + Math.floor(rng() * 2)
    const parts = Array.from({ length: n }, () => randomFilter(rng, g, depth + 1, maxDepth))
    const joined = parts.join(r < 0.6 ? ' and ' : ' or ')
    return depth === 0 && rng() < 0.5 ? joined : `(${joined})`
  }
  if (g.valuePaths.length > 0 && rng() < 0.15) {
    const vp = pick(rng, g.valuePaths)
    return `${vp.name}[${elementFilter(rng, vp, 0, g.dates)}]`
  }
  if (g.invalid.length > 0 && rng() < 0.015) return leaf(rng, 'unknown', pick(rng, g.invalid), ['x'], g.dates)
  const a = pick(rng, g.attrs)
  return leaf(rng, a.kind, pick(rng, a.names), a.pool, g.dates)
}
