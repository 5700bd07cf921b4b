// Resource versions as weak ETags (RFC 7644 §3.14, RFC 7232 §2.3).

export function etagOf(version: number | string): string {
  return `W/"${version}"`
}

/** Splits an If-Match / If-None-Match header into its entity tags. */
function tags(header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter((t) => t !== '')
}

/**
 * If-Match (RFC 7232 §2.3.2, weak comparison of the resource's own version): `W/"3"`, `"3"` and
 * a user's `W/"3.k2f9"` (version 3 with a groups digest, render.ts) match version 3; `*` matches
 * anything. A user's groups change without a write to the user and cannot be written through
 * it, so a write made against version 3 is safe whatever its groups became.
 */
export function etagMatches(header: string, version: number): boolean {
  return tags(header).some((t) => {
    if (t === '*') return true
    const m = /^(?:W\/)?"(\d+)(?:\.[0-9a-z]+)?"$/.exec(t)
    return m !== null && Number(m[1]) === version
  })
}

/** If-None-Match: the representation's whole tag (version and any groups digest), weakly compared. */
export function etagMatchesTag(header: string, tag: string): boolean {
  const want = `"${tag}"`
  return tags(header).some((t) => t === '*' || t === want || t === `W/${want}`)
}
