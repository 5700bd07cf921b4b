// Well-formed text. A lone UTF-16 surrogate is not text: SQLite stores U+FFFD in its place and
// PostgreSQL's jsonb refuses it, so the two stores would disagree; values and filter literals
// with one are refused.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** True when `s` holds a high surrogate without its low half, or a low one without its high half. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s)
}
