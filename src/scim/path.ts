// PATCH paths (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`, e.g. `name.givenName`,
// `members[value eq "2819c223"]`, `emails[type eq "work"].value`. The lexer and value-filter
// parser are filter/parser.ts's. A malformed path is 400 invalidPath; a malformed filter inside
// the brackets (or one beyond the nesting and term limits) is 400 invalidFilter. With
// `onBareValue` a value written without quotes inside the brackets (`emails[type eq work].value`)
// is read as a string by the filter parser's own rule (isBareValue), as `filter=` reads it.
import { ScimError } from './errors.ts'
import type { PatchPath } from './filter/ast.ts'
import { attrPathOf, checkLimits, fail, isAttrName, next, parseValueFilter, peek, scanner, type Scanner } from './filter/parser.ts'

/** Outside the brackets a string literal is never valid; say so before the lexer reads one. */
function noStringAt(s: Scanner): void {
  let i = s.pos
  while (i < s.src.length && /\s/.test(s.src[i] ?? '')) i++
  if (s.src[i] === '"') fail(s, 'invalidPath', 'an attribute path', i)
}

/**
 * Parses a PATCH operation's `path`. With `onBareValue`, an unquoted value inside the value
 * filter where only a string can be meant is read as that string and reported (parseFilter's
 * leniency, the same scanner and rule); every path the strict grammar accepts parses the same.
 */
export function parsePatchPath(source: string, onBareValue?: (word: string) => void): PatchPath {
  checkLimits(source, 'Path', 'invalidPath')
  const s = scanner(source, onBareValue)
  noStringAt(s)
  const first = next(s)
  if (first.t === 'end') throw new ScimError(400, 'invalidPath', 'Path is empty')
  const path = attrPathOf(s, first, 'invalidPath')
  let after = peek(s)
  if (after.t === 'end') return Object.freeze({ path, filter: null, subAfterFilter: null })
  if (after.t !== '[') return fail(s, 'invalidPath', '"[" or the end of the path', after.pos)
  if (path.sub !== null) return fail(s, 'invalidPath', 'a value filter on an attribute, not on a sub-attribute', after.pos)
  const filter = parseValueFilter(s, path, 0)
  noStringAt(s)
  after = next(s)
  if (after.t === 'end') return Object.freeze({ path, filter, subAfterFilter: null })
  // `emails[type eq "work"].value`: the lexer reads `.value` as one word.
  const sub = after.t === 'word' && after.text.startsWith('.') ? after.text.slice(1) : null
  if (sub === null || !isAttrName(sub)) return fail(s, 'invalidPath', '"." and a sub-attribute name, or the end of the path', after.pos)
  const rest = peek(s)
  if (rest.t !== 'end') return fail(s, 'invalidPath', 'the end of the path', rest.pos)
  return Object.freeze({ path, filter, subAfterFilter: sub })
}
