// Filter parser: RFC 7644 §3.4.2.2's filter grammar to a frozen AST (ast.ts). The lexer reads
// one token at a time straight from the source; path.ts reuses it (and the value-filter
// parser) for PATCH paths, §3.5.2.
//
// Limits are checked before any recursion (docs/architecture.md INP-2, INP-4): the length first, then
// a linear pre-scan of brackets outside string literals bounds the nesting, so 10,000 nested
// `(` fail in O(n) without growing the stack. `not` always opens a parenthesis (the ABNF is
// `"not" "(" valFilter ")"`), so counting brackets counts it too. `and`/`or` chains are parsed
// by loops into n-ary nodes, so a long chain is shallow. Comparisons are counted as they are read.
import { ScimError, quote, type ScimType } from '../errors.ts'
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS, type AttrPath, type CompValue, type CompareOp, type Filter } from './ast.ts'
import { hasLoneSurrogate } from '../unicode.ts'

type Token =
  | { readonly t: '(' | ')' | '[' | ']' | 'end'; readonly pos: number; readonly end: number }
  | { readonly t: 'string'; readonly pos: number; readonly end: number; readonly value: string }
  | { readonly t: 'word'; readonly pos: number; readonly end: number; readonly text: string }

/** Lexer state shared with path.ts: the source, the read position and the comparisons seen. */
export interface Scanner {
  readonly src: string
  pos: number
  terms: number
  peeked: Token | null
  /** Set when bare-word values are read as strings (parseFilter's `onBareValue`). */
  readonly onBareValue?: (word: string) => void
}

export function scanner(src: string, onBareValue?: (word: string) => void): Scanner {
  return onBareValue ? { src, pos: 0, terms: 0, peeked: null, onBareValue } : { src, pos: 0, terms: 0, peeked: null }
}

const COMPARE_OPS_LIST: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']
const COMPARE_OPS: ReadonlySet<string> = new Set<string>(COMPARE_OPS_LIST)
// Words that are the grammar's own: never read as a bare value.
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'pr', ...COMPARE_OPS_LIST])
// RFC 7644 §3.4.2.2 ATTRNAME = ALPHA *(nameChar); `$ref` (RFC 7643 §2.3.7) is the one exception.
const NAME = '\\$?[A-Za-z][A-Za-z0-9_-]*'
const NAME_RE = new RegExp(`^${NAME}$`)
const NAME_AND_SUB_RE = new RegExp(`^(${NAME})(?:\\.(${NAME}))?$`)
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/%+-]*$/
// RFC 8259 §6 number.
const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/

/** Throws a 400 saying what was expected at `pos`, quoting a short piece of the input there. */
export function fail(s: Scanner, scimType: ScimType, expected: string, pos: number): never {
  const found = pos >= s.src.length ? 'end of input' : quote(s.src.slice(pos), 24)
  throw new ScimError(400, scimType, `Expected ${expected} at position ${pos}, found ${found}`)
}

/** Enforces MAX_FILTER_LENGTH and, by a linear scan, MAX_FILTER_DEPTH; call before parsing. */
export function checkLimits(src: string, what: string, lengthType: ScimType): void {
  if (src.length > MAX_FILTER_LENGTH) {
    throw new ScimError(400, lengthType, `${what} is ${src.length} characters long; at most ${MAX_FILTER_LENGTH} are accepted`)
  }
  let depth = 0
  let inString = false
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x28 || c === 0x5b) {
      if (++depth > MAX_FILTER_DEPTH) {
        throw new ScimError(400, 'invalidFilter', `${what} nests deeper than ${MAX_FILTER_DEPTH} levels at position ${i}`)
      }
    } else if (c === 0x29 || c === 0x5d) {
      // An unmatched closer is reported by the parser, which stops there.
      depth = Math.max(0, depth - 1)
    }
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

function readString(s: Scanner, start: number): Token {
  const { src } = s
  let i = start + 1
  while (i < src.length) {
    const c = src.charCodeAt(i)
    if (c === 0x5c) i += 2
    else if (c === 0x22) break
    else i++
  }
  if (i >= src.length) throw new ScimError(400, 'invalidFilter', `Unterminated string starting at position ${start}`)
  let value: string
  try {
    // RFC 7644 §3.4.2.2: compValue strings are JSON strings (RFC 8259 §7), escapes and all.
    value = JSON.parse(src.slice(start, i + 1)) as string
  } catch {
    return fail(s, 'invalidFilter', 'a valid JSON string', start)
  }
  // Stored strings are well-formed Unicode (scim/resource.ts); a lone surrogate would reach the
  // database as U+FFFD and match what it does not say.
  if (hasLoneSurrogate(value)) return fail(s, 'invalidFilter', 'a string without lone surrogates', start)
  return { t: 'string', pos: start, end: i + 1, value }
}

/** The next token, without consuming it. */
export function peek(s: Scanner): Token {
  if (s.peeked !== null) return s.peeked
  const { src } = s
  let i = s.pos
  while (i < src.length && isSpace(src.charCodeAt(i))) i++
  const c = src[i]
  let tok: Token
  if (c === undefined) tok = { t: 'end', pos: i, end: i }
  else if (c === '(' || c === ')' || c === '[' || c === ']') tok = { t: c, pos: i, end: i + 1 }
  else if (c === '"') tok = readString(s, i)
  else {
    let j = i
    while (j < src.length) {
      const d = src.charCodeAt(j)
      if (isSpace(d) || d === 0x28 || d === 0x29 || d === 0x5b || d === 0x5d || d === 0x22) break
      j++
    }
    tok = { t: 'word', pos: i, end: j, text: src.slice(i, j) }
  }
  s.peeked = tok
  return tok
}

/** Consumes and returns the next token. */
export function next(s: Scanner): Token {
  const tok = peek(s)
  s.pos = tok.end
  s.peeked = null
  return tok
}

function isKeyword(tok: Token, word: string): boolean {
  return tok.t === 'word' && tok.text.toLowerCase() === word
}

function expect(s: Scanner, t: ')' | ']', expected: string): void {
  const tok = peek(s)
  if (tok.t !== t) fail(s, 'invalidFilter', expected, tok.pos)
  next(s)
}

/** Reads `[URI ":"] ATTRNAME ["." ATTRNAME]` from a word; the name is after the URI's last colon. */
export function attrPathOf(s: Scanner, tok: Token, scimType: ScimType): AttrPath {
  if (tok.t !== 'word') return fail(s, scimType, 'an attribute path', tok.pos)
  const text = tok.text
  const colon = text.lastIndexOf(':')
  const uri = colon < 0 ? null : text.slice(0, colon)
  const m = NAME_AND_SUB_RE.exec(text.slice(colon + 1))
  if (!m || (uri !== null && !URI_RE.test(uri))) return fail(s, scimType, 'an attribute path', tok.pos)
  return Object.freeze({ uri, name: m[1] ?? '', sub: m[2] ?? null })
}

/** Whether `text` is a bare attribute name (a sub-attribute after a value filter, path.ts). */
export function isAttrName(text: string): boolean {
  return NAME_RE.test(text)
}

function compValue(s: Scanner): CompValue {
  const tok = next(s)
  if (tok.t === 'string') return tok.value
  if (tok.t === 'word') {
    const lower = tok.text.toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
    if (lower === 'null') return null
    if (NUMBER_RE.test(tok.text)) {
      const n = Number(tok.text)
      if (Number.isFinite(n)) return n
    }
    if (s.onBareValue && isBareValue(s, tok.text)) {
      s.onBareValue(tok.text)
      return tok.text
    }
  }
  return fail(s, 'invalidFilter', 'a value (a string, a number, true, false or null)', tok.pos)
}

/**
 * Whether a word where a value belongs can only mean that string (`familyName eq Employee`): it
 * is not number-like, a keyword or an operator, and what follows is what may follow a value
 * (the end, `)`, `]`, `and`, `or`). A word that a valid filter could hold there never reaches this:
 * true, false, null and numbers are read above, so valid filters parse exactly as without it.
 */
function isBareValue(s: Scanner, word: string): boolean {
  // `00042` or `+5` might mean a number: not unambiguous. A GUID such as `5f2b…` is a string.
  if (KEYWORDS.has(word.toLowerCase()) || Number.isFinite(Number(word)) || hasLoneSurrogate(word)) return false
  // What follows cannot be read (an unterminated string): not a value's end; the strict error stands.
  let after: Token
  try {
    after = peek(s)
  } catch {
    return false
  }
  return after.t === 'end' || after.t === ')' || after.t === ']' || isKeyword(after, 'and') || isKeyword(after, 'or')
}

function countTerm(s: Scanner, pos: number): void {
  if (++s.terms > MAX_FILTER_TERMS) {
    throw new ScimError(400, 'invalidFilter', `Filter has more than ${MAX_FILTER_TERMS} comparisons (at position ${pos})`)
  }
}

function checkDepth(s: Scanner, depth: number, pos: number): void {
  // The pre-scan in checkLimits already bounds this; kept so the recursion is safe on its own.
  if (depth > MAX_FILTER_DEPTH) throw new ScimError(400, 'invalidFilter', `Filter nests deeper than ${MAX_FILTER_DEPTH} levels at position ${pos}`)
}

/** `filter = term *("or" term)` where `term = factor *("and" factor)`: not > and > or. */
function parseOr(s: Scanner, depth: number, outer: AttrPath | null): Filter {
  const first = parseAnd(s, depth, outer)
  if (!isKeyword(peek(s), 'or')) return first
  const filters = [first]
  while (isKeyword(peek(s), 'or')) {
    next(s)
    filters.push(parseAnd(s, depth, outer))
  }
  return Object.freeze({ kind: 'or', filters: Object.freeze(filters) })
}

function parseAnd(s: Scanner, depth: number, outer: AttrPath | null): Filter {
  const first = parseFactor(s, depth, outer)
  if (!isKeyword(peek(s), 'and')) return first
  const filters = [first]
  while (isKeyword(peek(s), 'and')) {
    next(s)
    filters.push(parseFactor(s, depth, outer))
  }
  return Object.freeze({ kind: 'and', filters: Object.freeze(filters) })
}

function parseFactor(s: Scanner, depth: number, outer: AttrPath | null): Filter {
  const tok = peek(s)
  if (isKeyword(tok, 'not')) {
    next(s)
    if (peek(s).t !== '(') fail(s, 'invalidFilter', '"(" after "not"', peek(s).pos)
    return Object.freeze({ kind: 'not', filter: parseParens(s, depth, outer) })
  }
  if (tok.t === '(') return parseParens(s, depth, outer)
  return parseAttrExp(s, depth, outer)
}

function parseParens(s: Scanner, depth: number, outer: AttrPath | null): Filter {
  const open = next(s)
  checkDepth(s, depth + 1, open.pos)
  const f = parseOr(s, depth + 1, outer)
  expect(s, ')', '"and", "or" or ")"')
  return f
}

function parseAttrExp(s: Scanner, depth: number, outer: AttrPath | null): Filter {
  const tok = next(s)
  const path = attrPathOf(s, tok, 'invalidFilter')
  // Inside `emails[...]` names are sub-attributes of emails (RFC 7644 §3.4.2.2 valuePath).
  if (outer !== null && (path.uri !== null || path.sub !== null)) fail(s, 'invalidFilter', `a sub-attribute name of ${quote(outer.name)}`, tok.pos)
  const after = peek(s)
  if (after.t === '[') {
    if (outer !== null) fail(s, 'invalidFilter', 'a comparison (a value filter cannot contain another)', after.pos)
    if (path.sub !== null) fail(s, 'invalidFilter', 'a value filter on an attribute, not on a sub-attribute', after.pos)
    return Object.freeze({ kind: 'valuePath', path, filter: parseValueFilter(s, path, depth) })
  }
  if (after.t !== 'word') return fail(s, 'invalidFilter', 'an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)', after.pos)
  const op = after.text.toLowerCase()
  if (op === 'pr') {
    next(s)
    countTerm(s, tok.pos)
    return Object.freeze({ kind: 'present', path })
  }
  if (!COMPARE_OPS.has(op)) return fail(s, 'invalidFilter', 'an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)', after.pos)
  next(s)
  const value = compValue(s)
  countTerm(s, tok.pos)
  return Object.freeze({ kind: 'compare', path, op: op as CompareOp, value })
}

/** Reads `"[" valFilter "]"` after the attribute path `outer`; errors are invalidFilter. */
export function parseValueFilter(s: Scanner, outer: AttrPath, depth: number): Filter {
  const open = next(s)
  if (open.t !== '[') return fail(s, 'invalidFilter', '"["', open.pos)
  checkDepth(s, depth + 1, open.pos)
  if (peek(s).t === ']') fail(s, 'invalidFilter', 'a filter inside "[]"', peek(s).pos)
  const f = parseOr(s, depth + 1, outer)
  expect(s, ']', '"and", "or" or "]"')
  return f
}

/** The provisioning-log note of a bare value read as a string (parseFilter's and parsePatchPath's `onBareValue`). */
export function bareValueNote(word: string): string {
  return `filter value ${word.length > 64 ? `${word.slice(0, 64)}…` : word} read as the string ${quote(word)}`
}

/**
 * Parses a SCIM filter (RFC 7644 §3.4.2.2); any mistake is a 400 invalidFilter naming the position.
 * With `onBareValue`, a value written without quotes where nothing else can be meant
 * (`name.familyName eq Employee`, isBareValue) is read as that string and reported; every filter
 * the strict grammar accepts parses to the same tree either way.
 */
export function parseFilter(source: string, onBareValue?: (word: string) => void): Filter {
  checkLimits(source, 'Filter', 'invalidFilter')
  const s = scanner(source, onBareValue)
  if (peek(s).t === 'end') throw new ScimError(400, 'invalidFilter', 'Filter is empty')
  const f = parseOr(s, 0, null)
  const rest = peek(s)
  if (rest.t !== 'end') fail(s, 'invalidFilter', '"and", "or" or the end of the filter', rest.pos)
  return f
}

/**
 * Parses one attribute path (`sortBy`, an `attributes` entry): `[URI ":"] name ["." sub]`,
 * surrounding whitespace ignored. A malformed path is a 400 of `scimType` (invalidValue by default).
 */
export function parseAttrPath(source: string, scimType: ScimType = 'invalidValue'): AttrPath {
  if (source.length > MAX_FILTER_LENGTH) {
    throw new ScimError(400, scimType, `Attribute path is ${source.length} characters long; at most ${MAX_FILTER_LENGTH} are accepted`)
  }
  const text = source.trim()
  if (text === '') throw new ScimError(400, scimType, 'Attribute path is empty')
  // One word, read directly: whitespace, quotes or brackets inside it fail the name pattern.
  const pos = source.indexOf(text)
  return attrPathOf(scanner(source), { t: 'word', pos, end: pos + text.length, text }, scimType)
}
