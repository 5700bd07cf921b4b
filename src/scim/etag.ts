// Resource versions as weak ETags (RFC 7644 §3.14, RFC 7232 §2.3).

export function etagOf(version: number): string {
  return `W/"${version}"`
}

/** Splits an If-Match / If-None-Match header into its entity tags. */
function tags(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter((t) => t !== '')
}

/** Weak comparison (RFC 7232 §2.3.2): `W/"3"` and `"3"` match version 3; `*` matches anything. */
export function etagMatches(header: string, version: number): boolean {
  const want = `"${version}"`
  return tags(header).some((t) => t === '*' || t === want || t === `W/${want}`)
}
