// The Accept header (RFC 9110 §12.5.1). SCIM answers JSON only: RFC 7644 §3.8 says a service
// provider MUST support `Accept: application/scim+json` and SHOULD support `application/json`,
// and that the format defaults to application/scim+json when none is given; other formats MAY be
// supported, and Roster supports none. For an Accept that admits none of the types a surface
// answers, RFC 9110 §12.5.1 lets the server either answer 406 Not Acceptable or ignore the header;
// Roster answers 406 with its usual error body naming what it can send, so that a client asking
// for XML learns why instead of failing to parse JSON it did not ask for. application/scim+json
// is a JSON document (its registration, RFC 7644 §8.1, says clients may treat it as
// application/json), so either of the two names is satisfied by the one answer SCIM sends.
//
// Lenient where clients are sloppy: no header, an empty one, or one in which no media range
// parses means "anything"; Java's `*` is read as `*/*`.

/** A media range of an Accept header: `type/subtype`, `type/*` or `*\/*`, with its weight. */
interface Range {
  readonly type: string
  readonly subtype: string
  readonly q: number
}

function parse(header: string): Range[] {
  const out: Range[] = []
  for (const part of header.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const m = range === '*' ? ['*/*', '*', '*'] : /^([a-z0-9!#$&^_.+-]+|\*)\/([a-z0-9!#$&^_.+-]+|\*)$/.exec(range)
    if (!m || (m[1] === '*' && m[2] !== '*')) continue
    let q = 1
    for (const p of params) {
      const w = /^q\s*=\s*([01](?:\.\d{0,3})?)$/.exec(p)
      if (w) q = Math.min(1, Number(w[1]))
    }
    out.push({ type: m[1] as string, subtype: m[2] as string, q })
  }
  return out
}

/**
 * True when `header` admits one of `produced` (media types `type/subtype`, lower case): its most
 * specific matching range (the type and subtype, else `type/*`, else `*\/*`) has a weight above 0.
 */
export function acceptsAny(header: string | undefined, produced: readonly string[]): boolean {
  if (header === undefined || header.trim() === '') return true
  const ranges = parse(header)
  if (ranges.length === 0) return true
  return produced.some((media) => {
    const [type, subtype] = media.split('/')
    const exact = ranges.filter((r) => r.type === type && r.subtype === subtype)
    const typeWide = ranges.filter((r) => r.type === type && r.subtype === '*')
    const any = ranges.filter((r) => r.type === '*')
    const best = exact.length > 0 ? exact : typeWide.length > 0 ? typeWide : any
    return best.some((r) => r.q > 0)
  })
}
